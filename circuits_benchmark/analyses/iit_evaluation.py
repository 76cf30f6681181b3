"""`eval iit` and `eval node_realism` / `gt_node_realism`: evaluations of trained (and compiled)
models and of circuits in them, written under `<output_dir>/eval/`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path
from typing import Any

from circuits_benchmark.choices import Ablation
from circuits_benchmark.circuits.circuit import Circuit
from circuits_benchmark.errors import BenchmarkError
from circuits_benchmark.evaluation.circuit_checks import GroundTruthCheck, NodeEffect, ablate_outside, draw_node_effects, ground_truth_check, node_ablation_effects
from circuits_benchmark.analyses.eval_files import DEFAULT_EXAMPLES, eval_dir, write_report
from circuits_benchmark.models.benchmark_model import BenchmarkModel
from circuits_benchmark.models.model_id import ModelId
from circuits_benchmark.models.registry import load_benchmark_model
from circuits_benchmark.patching.output_change import PatchingBatch
from circuits_benchmark.storage.files import read_json
from circuits_benchmark.training.objectives import heldout_metrics
from circuits_benchmark.training.artifacts import TrainedModel
from circuits_benchmark.training.siit_models import load_run
from circuits_benchmark.training.task_families import build_task



def iit_metrics(run: TrainedModel, output_dir: Path) -> dict[str, float]:
    """Held-out accuracy, IIA and strict IIA of a trained run, on the split it was trained with.

    Raises BenchmarkError when the split cannot be rebuilt as it was (the case changed).
    """
    task = build_task(run.case_id, output_dir, run.meta.seed)
    if task.split.fingerprint() != run.meta.split["fingerprint"]:
        raise BenchmarkError(f"case {run.case_id}'s inputs changed since {run.run_id} was trained: held-out split lost")
    objective = task.objective(run.model, run.meta.settings.tolerance)
    return heldout_metrics(objective, task.split.test, run.meta.seed)


@dataclasses.dataclass(frozen=True)
class IitEvaluation:
    """What `eval iit` measured of a trained model: held-out accuracy / IIA / strict IIA now and as
    recorded at training, each node's ablation effects, the ground truth's checks under every
    ablation, and where its files were written."""

    model_id: str
    metrics: dict[str, float]
    trained_metrics: dict[str, float]
    node_effects: list[NodeEffect]
    ground_truth_checks: list[GroundTruthCheck]
    n_examples: int
    seed: int
    result_dir: Path

    def to_dict(self) -> dict[str, Any]:
        """The result.json form."""
        return {
            "model_id": self.model_id,
            "metrics": self.metrics,
            "trained_metrics": self.trained_metrics,
            "node_effects": [effect.to_dict() for effect in self.node_effects],
            "ground_truth_checks": [check.to_dict() for check in self.ground_truth_checks],
            "n_examples": self.n_examples,
            "seed": self.seed,
        }


def evaluate_trained_run(
    case_id: int, run_id: str | None, output_dir: Path, n_examples: int = DEFAULT_EXAMPLES, seed: int = 0
) -> IitEvaluation:
    """`eval iit`: held-out metrics, per-node ablation effects and ground-truth faithfulness of a run.

    Writes result.json and node_effects.png under `eval_dir(output_dir, "iit", model id)`.
    """
    run = load_run(output_dir, case_id, run_id)
    benchmark_model = load_benchmark_model(run.model_id, output_dir)
    batch = PatchingBatch.sample(benchmark_model, n_examples, seed)
    effects = node_ablation_effects(batch, run.ground_truths[Ablation.RESAMPLE])
    target = eval_dir(output_dir, "iit", run.model_id)
    evaluation = IitEvaluation(
        model_id=run.model_id,
        metrics=iit_metrics(run, output_dir),
        trained_metrics=run.meta.metrics,
        node_effects=effects,
        ground_truth_checks=[ground_truth_check(batch, benchmark_model, a) for a in Ablation],
        n_examples=n_examples,
        seed=seed,
        result_dir=target,
    )
    write_report(evaluation.to_dict(), target, lambda: draw_node_effects(effects, run.model_id, target / "node_effects.png"))
    return evaluation


def outside_ablation_of_result(
    result_path: Path, model_id: str, output_dir: Path, ablation: Ablation = Ablation.RESAMPLE, n_examples: int = DEFAULT_EXAMPLES, seed: int = 0
) -> dict[str, Any]:
    """`eval node_realism`: node realism of the circuit in a result.json (its "circuit" key).

    Raises BenchmarkError for an unreadable file, a missing or malformed circuit, or a result
    that names another model.
    """
    result = read_json(result_path)
    if not isinstance(result, dict) or "circuit" not in result:
        raise BenchmarkError(f"{result_path} has no 'circuit' key")
    named = result.get("model_id")
    if named is not None and not ModelId.parse(named).same_model_as(ModelId.parse(model_id)):
        raise BenchmarkError(f"{result_path} is a circuit of {named}, not of {model_id}")
    try:
        circuit = Circuit.from_dict(result["circuit"])
    except ValueError as error:
        raise BenchmarkError(f"{result_path}: {error}") from None
    digest = hashlib.sha256(json.dumps(circuit.to_dict(), sort_keys=True).encode()).hexdigest()[:12]
    model = load_benchmark_model(model_id, output_dir)
    return _outside_ablation_report("node_realism", model, circuit, str(result_path), output_dir, ablation, n_examples, seed, digest)


def outside_ablation_of_ground_truth(
    model_id: str, output_dir: Path, ablation: Ablation = Ablation.RESAMPLE, n_examples: int = DEFAULT_EXAMPLES, seed: int = 0
) -> dict[str, Any]:
    """`eval gt_node_realism`: node realism of a model's own ground truth for `ablation`."""
    model = load_benchmark_model(model_id, output_dir)
    truth = model.ground_truth(ablation)
    if truth is None:
        raise BenchmarkError(f"{model_id} has no ground truth")
    return _outside_ablation_report("gt_node_realism", model, truth, "ground truth", output_dir, ablation, n_examples, seed, "ground_truth")


def _outside_ablation_report(
    kind: str, benchmark_model: BenchmarkModel, circuit: Circuit, source: str, output_dir: Path,
    ablation: str, n_examples: int, seed: int, folder: str,
) -> dict[str, Any]:
    change = ablate_outside(PatchingBatch.sample(benchmark_model, n_examples, seed), circuit, ablation)
    report = {
        "model_id": benchmark_model.model_id,
        "circuit_source": source,
        "circuit": circuit.canonical().to_dict(),
        "ablation": ablation,
        "change": change.to_dict(),
        "n_examples": n_examples,
        "seed": seed,
    }
    target = eval_dir(output_dir, kind, benchmark_model.model_id) / f"{folder}-{ablation}-n{n_examples}-seed{seed}"
    return write_report(report, target)
