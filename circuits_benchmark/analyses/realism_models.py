"""`eval realism`: a case's compiled, SIIT, IIT and natural models measured side by side
(`analyses.realism`), training the recipes that have no finished run yet."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from circuits_benchmark.discovery.settings import MethodSettings
from circuits_benchmark.errors import BenchmarkError
from circuits_benchmark.evaluation.faithfulness import faithfulness_curve
from circuits_benchmark.analyses.eval_files import DEFAULT_EXAMPLES, write_report
from circuits_benchmark.analyses.realism import draw_realism, measure
from circuits_benchmark.models.benchmark_model import BenchmarkModel
from circuits_benchmark.models.model_id import ModelId
from circuits_benchmark.models.registry import load_benchmark_model
from circuits_benchmark.runs import RunConfig, apply_method, build_problem
from circuits_benchmark.training.siit_models import default_run_id
from circuits_benchmark.training.suite import finished_meta, train_case
from circuits_benchmark.training.task_families import task_family
from circuits_benchmark.training.task_keys import CaseKey, case_folder, task_label


# The recipes `eval realism` compares beside the compiled model, as overrides of the task family's
# recipe: SIIT (none), IIT (no strict loss) and natural (behaviour only).
REALISM_RECIPES: dict[str, dict[str, Any]] = {
    "siit": {},
    "iit": {"strict_weight": 0.0},
    "natural": {"iit_weight": 0.0, "strict_weight": 0.0},
}


def realism_report(
    case_id: CaseKey, output_dir: Path, n_examples: int = DEFAULT_EXAMPLES, seed: int = 0, max_seconds: float = 90.0,
    on_training: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """`eval realism`: the task's compiled (a tracr case's), SIIT, IIT and natural models measured
    side by side (`analyses.realism`); result.json and realism.png under
    `<output_dir>/eval/realism/<case folder>/`.

    The SIIT model is the task's default (`siit:N`: the best trained run, else the release); a
    recipe without a finished run is trained first, for at most `max_seconds` (`on_training` is
    told which), and resumes where it stopped when asked again. IIT and natural models use the
    task family's recipe with the strict loss (IIT), or the IIT and strict losses (natural), off.
    """
    owner = task_family(case_id)
    model_ids = {"compiled": str(ModelId.tracr(case_id))} if owner.compiled else {}
    for family, recipe in REALISM_RECIPES.items():
        if family == "siit":
            try:  # the case's default SIIT model, named by its run (later runs must not change it)
                model_ids[family] = str(ModelId.siit(case_id, default_run_id(output_dir, case_id)))
                continue
            except BenchmarkError:
                pass  # none yet: train one
        settings = owner.settings(case_id, **recipe, max_seconds=max_seconds)
        if on_training is not None and finished_meta(output_dir, case_id, settings) is None:
            on_training(family)
        outcome = train_case(case_id, settings, output_dir, resume=True)
        if outcome.meta is None:
            raise BenchmarkError(f"case {case_id}: cannot train its {family} model: {outcome.reason}")
        model_ids[family] = str(ModelId.siit(case_id, settings.run_id()))
    measured = []
    for family, model_id in model_ids.items():
        model = load_benchmark_model(model_id, output_dir)
        measured.append(measure(family, model, n_examples, seed, acdc_faithfulness(model, seed)))
    report = {
        "case_id": case_id,
        "models": model_ids,
        "summary": {m.family: m.summary() for m in measured},
        "measured": [m.to_dict() for m in measured],
        "n_examples": n_examples,
        "seed": seed,
    }
    target = output_dir / "eval" / "realism" / case_folder(case_id)
    return write_report(report, target, lambda: draw_realism(measured, f"{task_label(case_id)}: how natural do its models look?", target / "realism.png"))


def acdc_faithfulness(model: BenchmarkModel, seed: int, n_examples: int = 100) -> dict[str, Any]:
    """ACDC's faithfulness curve on a model at its default threshold (the curve `run acdc` reports)."""
    config = RunConfig("acdc", model.model_id, MethodSettings(), n_examples=n_examples, seed=seed)
    problem = build_problem(model, config)
    output, _ = apply_method(problem, config)
    curve = faithfulness_curve(problem, output.edge_scores)
    return {"sizes_percent": curve.sizes_percent, "faithfulness": curve.faithfulness, "cpr": curve.cpr}
