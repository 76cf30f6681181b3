"""`eval probe`, `eval attention` and `eval layers`: everyday interpretability analyses run on one
model and scored against what is known about it, each written as result.json and a picture
under `<output_dir>/eval/<analysis>/...`. Models without a known computation (an AlgZoo
transformer, a TransformerLens model from a file) get the same pictures without scores.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from circuits_benchmark.choices import Ablation
from circuits_benchmark.analyses.attention_roles import ROLE_THRESHOLD, draw_attention, head_roles, roles_summary
from circuits_benchmark.analyses.known_computation import known_computation
from circuits_benchmark.analyses.layer_corruption import (
    CHANGE_THRESHOLD,
    agreement,
    circuit_layers,
    corrupt_layers,
    draw_corruptions,
)
from circuits_benchmark.analyses.probing import (
    MIN_SELECTIVITY,
    PROBE_THRESHOLD,
    draw_probes,
    probe_model,
    probing_summary,
)
from circuits_benchmark.analyses.eval_files import DEFAULT_EXAMPLES, eval_dir, write_report
from circuits_benchmark.models.benchmark_model import BenchmarkModel
from circuits_benchmark.models.registry import load_benchmark_model
from circuits_benchmark.patching.output_change import PatchingBatch

def probe_report(model_id: str, output_dir: Path, n_examples: int = DEFAULT_EXAMPLES, seed: int = 0) -> dict[str, Any]:
    """`eval probe`: linear probes for every known variable at every location, where probing says
    each is written against where it is (`analyses.probing`); result.json and probes.png."""

    def analyse(model: BenchmarkModel) -> tuple[dict[str, Any], Callable[[Path], None]]:
        known = known_computation(model, n_examples, seed, output_dir)
        results = probe_model(model.model, known)
        findings = {
            "scored": known.has_truth,
            "probe_threshold": PROBE_THRESHOLD,
            "min_selectivity": MIN_SELECTIVITY,
            "summary": probing_summary(results),
            "variables": [result.to_dict() for result in results],
        }
        return findings, lambda path: draw_probes(results, model.model_id, path)

    return _analysis("probe", "probes.png", model_id, output_dir, n_examples, seed, analyse)


def attention_report(model_id: str, output_dir: Path, n_examples: int = DEFAULT_EXAMPLES, seed: int = 0) -> dict[str, Any]:
    """`eval attention`: each head's role read from its patterns, against its known selector's
    (`analyses.attention_roles`); result.json and attention.png."""

    def analyse(model: BenchmarkModel) -> tuple[dict[str, Any], Callable[[Path], None]]:
        known = known_computation(model, n_examples, seed, output_dir)
        roles, patterns = head_roles(model.model, known)
        findings = {"role_threshold": ROLE_THRESHOLD, "summary": roles_summary(roles), "heads": [role.to_dict() for role in roles]}
        return findings, lambda path: draw_attention(roles, patterns, known, model.model_id, path)

    return _analysis("attention", "attention.png", model_id, output_dir, n_examples, seed, analyse)


def layers_report(model_id: str, output_dir: Path, n_examples: int = DEFAULT_EXAMPLES, seed: int = 0) -> dict[str, Any]:
    """`eval layers`: every layer corruption of a model, its effect and, with a ground truth, the
    circuit's prediction and their agreement (`analyses.layer_corruption`); result.json and layers.png."""

    def analyse(model: BenchmarkModel) -> tuple[dict[str, Any], Callable[[Path], None]]:
        truth = model.ground_truth(Ablation.RESAMPLE)
        results = corrupt_layers(PatchingBatch.sample(model, n_examples, seed), truth)
        findings = {
            "circuit_layers": None if truth is None else sorted(circuit_layers(truth)),
            "change_threshold": CHANGE_THRESHOLD,
            "agreement": agreement(results),
            "corruptions": [result.to_dict() for result in results],
        }
        return findings, lambda path: draw_corruptions(results, model.model_id, path)

    return _analysis("layers", "layers.png", model_id, output_dir, n_examples, seed, analyse)


def _analysis(
    kind: str, picture: str, model_id: str, output_dir: Path, n_examples: int, seed: int,
    analyse: Callable[[BenchmarkModel], tuple[dict[str, Any], Callable[[Path], None]]],
) -> dict[str, Any]:
    """Loads the model, runs `analyse` (its findings and how to draw them) and writes both under
    `eval_dir(output_dir, kind, model id)`; the report returned also names its picture."""
    model = load_benchmark_model(model_id, output_dir)
    findings, draw = analyse(model)
    report = {"model_id": model.model_id, **findings, "n_examples": n_examples, "seed": seed}
    target = eval_dir(output_dir, kind, model.model_id)
    return write_report(report, target, lambda: draw(target / picture)) | {"picture": str(target / picture)}
