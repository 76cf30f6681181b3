"""`eval iit_acdc` and `eval ioi_acdc`: ACDC run on one model and its circuit set beside the model's
ground truth, edge by edge (found, missed, extra), with AUROC, and both circuits drawn side by side.

One function serves every model with a ground truth: a SIIT model of a tracr case (`iit_acdc`), the
IOI model (`ioi_acdc`), or a compiled one. The report is written under `eval/<kind>/`, `kind`
being the command's name.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from circuits_benchmark.circuits.circuit import Circuit
from circuits_benchmark.evaluation.figures import pyplot, save_png
from circuits_benchmark.analyses.eval_files import eval_dir, write_report


def acdc_comparison_report(
    kind: str, model_id: str, output_dir: Path, threshold: float, n_examples: int = 100, seed: int = 42
) -> dict[str, Any]:
    """ACDC at `threshold` on `model_id` (stored like any `run acdc`); its circuit against the
    ground truth: edges found, missed and extra, nodes found and extra, edge and node AUROC, the
    confusion counts at the threshold. Writes result.json, ground_truth.png, acdc.png and
    comparison.png (the two side by side) under `eval/<kind>/`; returns the report with
    `result_dir`. Raises BenchmarkError for an unknown model or a model without a ground truth."""
    from circuits_benchmark.circuits.drawing import draw_circuit
    from circuits_benchmark.discovery.settings import MethodSettings
    from circuits_benchmark.errors import BenchmarkError
    from circuits_benchmark.runs import RunConfig, run_discovery

    config = RunConfig("acdc", model_id, MethodSettings(threshold=threshold), n_examples=n_examples, seed=seed)
    result = run_discovery(config, output_dir)
    if result.ground_truth is None or result.evaluation is None:
        raise BenchmarkError(f"{result.model_id} has no ground truth to compare ACDC's circuit with")
    truth = result.ground_truth.canonical()
    found = result.circuit.canonical()
    truth_edges, found_edges = set(truth.edges), set(found.edges)
    evaluation = result.evaluation
    report = {
        "model_id": result.model_id,
        "threshold": threshold,
        "edges_found": [list(e) for e in truth.edges if e in found_edges],
        "edges_missed": [list(e) for e in truth.edges if e not in found_edges],
        "edges_extra": [list(e) for e in found.edges if e not in truth_edges],
        "nodes_found": [n for n in truth.nodes if n in found.nodes],
        "nodes_extra": [n for n in found.nodes if n not in truth.nodes],
        "edge_auroc": evaluation.edge_auroc,
        "node_auroc": evaluation.node_auroc,
        "at_threshold": {name: confusion.to_dict() for name, confusion in evaluation.at_threshold.items()},
        "acdc_result_dir": str(result.result_dir),
        "n_examples": n_examples,
        "seed": seed,
    }
    target = eval_dir(output_dir, kind, result.model_id)

    def draw() -> None:
        draw_circuit(truth, target / "ground_truth.png", "ground truth")
        draw_circuit(found, target / "acdc.png", f"ACDC, threshold {threshold:g} (faint: ground truth it missed)", background=_union(found, truth))
        draw_side_by_side([target / "ground_truth.png", target / "acdc.png"], target / "comparison.png", f"{result.model_id}: ground truth and ACDC")

    return write_report(report, target, draw)


def _union(first: Circuit, second: Circuit) -> Circuit:
    return Circuit([*first.edges, *second.edges], [*first.nodes, *second.nodes])


def draw_side_by_side(images: list[Path], path: Path, title: str) -> None:
    """The PNG images in one row, under one title."""
    plt = pyplot()
    pictures = [plt.imread(str(image)) for image in images]
    figure, axes = plt.subplots(1, len(pictures), figsize=(5 * len(pictures), 6))
    for axis, picture in zip(axes, pictures):
        axis.imshow(picture)
        axis.axis("off")
    figure.suptitle(title, fontsize=11)
    save_png(figure, path)
