"""The hard tasks as a SIIT task family (`training.task_families`): every task of
`hard.catalogue`, trained with `./main.py train iit -i <key>` (or `scripts/train_hard_family.sh`),
released with `./main.py release build -i <key>` into `circuits_benchmark/releases/hard/`, and
run on with `./main.py run acdc -i <key>`.

Training builds the trained program (without saturation, which acts after training); the
benchmark model applies that edit to the trained network. The ground truth is judged by
`hard.checks` on the run's held-out inputs (`check_ground_truth`), both when training ends and
when a model is released: the standard checks would call a redundant copy unnecessary, which is
the mechanism, not a defect.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from circuits_benchmark.choices import Ablation
from circuits_benchmark.errors import BenchmarkError
from circuits_benchmark.hard import catalogue, checks, edits, high_level, program, task
from circuits_benchmark.hard.catalogue import trained_spec
from circuits_benchmark.hard.program import HardSpec
from circuits_benchmark.models.benchmark_model import BenchmarkModel, ExcludingSampler
from circuits_benchmark.models.tokenizer import CaseTokenizer
from circuits_benchmark.training.artifacts import TrainedModel
from circuits_benchmark.training.task import SiitTask
from circuits_benchmark.training.task_families import CaseKey, Recipe, TaskFamily, register_task_family
from circuits_benchmark.training.task_keys import SIIT_RELEASE_DIR

HARD_RELEASE_DIR = SIIT_RELEASE_DIR.parent / "hard"


class HardTasks(TaskFamily):
    """The hard tasks. Recipe: stop at 99.9% (at 99.5% the redundant model's vote was still
    wrong, with only its circuit kept, on 11% of the inputs missing one copy; EXPERIMENTS.md)."""

    name = "hard"
    recipe = Recipe(settings={"target": 0.999})
    release_dir = HARD_RELEASE_DIR

    def keys(self) -> list[CaseKey]:
        """Every catalogued task, `catalogue.QUICK_TASKS` first (what the quick bench shows)."""
        return [*catalogue.QUICK_TASKS, *(key for key in catalogue.TASKS if key not in catalogue.QUICK_TASKS)]

    def build_task(self, key: CaseKey, output_dir: Path, seed: int) -> SiitTask:
        return task.siit_task(str(key), trained_spec(catalogue.task_spec(str(key))), seed)

    def benchmark_model(self, run: TrainedModel, output_dir: Path) -> BenchmarkModel:
        """The trained network with the task's saturation, drawing only inputs it did not train on.
        Raises BenchmarkError for a model trained on another program."""
        spec = catalogue.task_spec(str(run.case_id))
        # Compared as specs, so that a knob added later with its default keeps older runs valid.
        if HardSpec(**run.meta.hl_model.get("spec", {})) != trained_spec(spec):
            raise BenchmarkError(f"{run.model_id} was trained on another program: retrain it with {self.train_command(run.case_id)}")
        model = task.benchmark_model(run.model_id, spec, edits.apply_edits(run.model, spec))
        model.sample_tokens = ExcludingSampler(model.sample_tokens, task.training_split(trained_spec(spec), run.meta.seed).train)
        return model

    def ground_truth_current(self, run: TrainedModel, output_dir: Path) -> bool:
        return run.ground_truths.get(Ablation.RESAMPLE) == high_level.ll_ground_truth(catalogue.task_spec(str(run.case_id)))

    def check_ground_truth(
        self, run: TrainedModel, model: BenchmarkModel, ablations: tuple[str, ...] | None = None
    ) -> dict[str, dict[str, Any]]:
        """`hard.checks` on the run's held-out inputs, with saturation applied, in the standard
        checks' shape (`checks.HardChecks.as_ground_truth_check`): resample ablation's, whatever
        `ablations` asks."""
        spec = catalogue.task_spec(str(run.case_id))
        held_out = task.training_split(trained_spec(spec), run.meta.seed).test
        edited = edits.apply_edits(run.model, spec)
        result = checks.check_hard_model(edited, spec, held_out, task.answer_positions(spec))
        return {Ablation.RESAMPLE: result.as_ground_truth_check()}

    def release_ground_truth_checks(self, run: TrainedModel, model: BenchmarkModel) -> dict[str, dict[str, Any]]:
        """Re-run on every release: what `hard.checks` says now, whatever the run stored."""
        return self.check_ground_truth(run, model)

    def tokenizer(self, key: CaseKey, output_dir: Path) -> CaseTokenizer:
        return program.tokenizer()


register_task_family(HardTasks())
