"""The hard tasks as a SIIT task family (`training.task_families`): `hard-redundant`,
`hard-saturated`, `hard-rare` and `hard-distractor` (`hard.prototypes`), trained with
`./main.py train iit -i <key>` and run on with `./main.py run acdc -i <key>`.

Training builds the trained program (without the knobs that act after training); the benchmark
model applies those edits to the trained network, calibrated on the run's own training inputs.
The family stays out of the default bench until it has a release.
"""

from __future__ import annotations

from pathlib import Path

from circuits_benchmark.choices import Ablation
from circuits_benchmark.errors import BenchmarkError
from circuits_benchmark.hard import edits, high_level, program, prototypes, task
from circuits_benchmark.models.benchmark_model import BenchmarkModel
from circuits_benchmark.models.tokenizer import CaseTokenizer
from circuits_benchmark.training.artifacts import TrainedModel
from circuits_benchmark.training.task import SiitTask
from circuits_benchmark.training.task_families import CaseKey, Recipe, TaskFamily, register_task_family


class HardTasks(TaskFamily):
    """The hard prototypes. Recipe: stop at 99.9% (at 99.5% the redundant model's vote was still
    wrong, with only its circuit kept, on 11% of the inputs missing one copy; EXPERIMENTS.md)."""

    name = "hard"
    recipe = Recipe(settings={"target": 0.999})
    in_default_bench = False

    def keys(self) -> list[CaseKey]:
        return list(prototypes.PROTOTYPES)

    def build_task(self, key: CaseKey, output_dir: Path, seed: int) -> SiitTask:
        return task.siit_task(str(key), prototypes.trained_spec(prototypes.prototype_spec(str(key))), seed)

    def benchmark_model(self, run: TrainedModel, output_dir: Path) -> BenchmarkModel:
        """The trained network with the task's edits. Raises BenchmarkError for a model trained on
        another program."""
        spec = prototypes.prototype_spec(str(run.case_id))
        trained = prototypes.trained_spec(spec)
        if run.meta.hl_model.get("spec") != trained.to_dict():
            raise BenchmarkError(f"{run.model_id} was trained on another program: retrain it with {self.train_command(run.case_id)}")
        calibration = task.training_split(trained, run.meta.seed).train[: edits.CALIBRATION_INPUTS]
        model = edits.apply_edits(run.model, spec, calibration) if spec != trained else run.model
        return task.benchmark_model(run.model_id, spec, model)

    def ground_truth_current(self, run: TrainedModel, output_dir: Path) -> bool:
        spec = prototypes.prototype_spec(str(run.case_id))
        return run.ground_truths.get(Ablation.RESAMPLE) == high_level.ll_ground_truth(spec)

    def tokenizer(self, key: CaseKey, output_dir: Path) -> CaseTokenizer:
        return program.tokenizer()


register_task_family(HardTasks())
