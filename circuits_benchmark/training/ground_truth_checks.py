"""The ground-truth checks stored with every trained model (meta.json, the release manifest):
sufficiency and necessity of its LL ground truth (`evaluation.circuit_checks.ground_truth_check`)
under the ablations its strict loss trains for."""

from __future__ import annotations

from typing import Any

import torch

from circuits_benchmark.choices import Ablation
from circuits_benchmark.evaluation.circuit_checks import ground_truth_check
from circuits_benchmark.models.benchmark_model import BenchmarkModel
from circuits_benchmark.patching.output_change import PatchingBatch

# Input pairs the stored checks are judged on.
CHECK_EXAMPLES = 500

# The ablations a SIIT model's ground truth is trained to hold under (the strict loss resamples;
# mean ablation comes along). Zero ablation is reported by `eval iit` but not trained for.
TRAINED_ABLATIONS = (Ablation.RESAMPLE, Ablation.MEAN)


def check_trained_ground_truth(
    model: BenchmarkModel, n_examples: int = CHECK_EXAMPLES, seed: int = 0,
    ablations: tuple[str, ...] = TRAINED_ABLATIONS, device: str | None = None,
) -> dict[str, dict[str, Any]]:
    """Ground-truth checks (`GroundTruthCheck.to_dict`) of a trained model, or of one in training,
    under the ablations its strict loss trains for (resample, and mean beside it), as stored in
    meta.json and the release manifest. The input pairs depend only on the task, `n_examples` and
    `seed`, so a check made during training agrees with the one made on the model it writes.
    `device`: where to run it (default: where the model is, which it stays on)."""
    batch = PatchingBatch.sample(model, n_examples, seed, device or str(model.model.embed.W_E.device))
    with torch.no_grad():
        return {a: ground_truth_check(batch, model, a).to_dict() for a in ablations}


def ground_truth_problems(check: dict[str, Any]) -> list[str]:
    """What keeps a stored ground-truth check from passing, in words ([] when faithful and minimal)."""
    problems = []
    if not check["faithful"]:
        problems.append(f"ground truth unfaithful ({100 * check['changed_fraction']:.2f}% of positions change)")
    if not check["minimal"]:
        problems.append(f"ground truth not minimal (redundant: {', '.join(check['redundant'])})")
    return problems
