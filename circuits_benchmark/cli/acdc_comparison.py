"""`./main.py eval iit_acdc` (and IOI's `eval ioi_acdc`, `cli.ioi`): ACDC's circuit beside the ground
truth (thin wrappers of `analyses.acdc_comparison`, one printer for both)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from circuits_benchmark.cli.options import DEFAULT_OUTPUT_DIR, Indices, OutputDir, Seed, Tracr, Weights, case_model_id, check_number
from circuits_benchmark.cli.tables import titled_table

console = Console()

# InterpBench's `eval iit_acdc` spells it `-t`, and its default is 0.025 too.
Threshold = Annotated[float, typer.Option("-t", "--threshold", help="ACDC's tau.")]
Examples = Annotated[int, typer.Option("--n-examples", help="Input pairs ACDC patches with.")]


def eval_iit_acdc(
    indices: Indices = None,
    weights: Weights = None,
    tracr: Tracr = False,
    threshold: Threshold = 0.025,
    n_examples: Examples = 100,
    seed: Seed = 42,
    output_dir: OutputDir = DEFAULT_OUTPUT_DIR,
) -> None:
    """ACDC on each selected case's SIIT model (or compiled one, --tracr): its circuit against the
    ground truth, edge by edge, drawn side by side."""
    from circuits_benchmark.training.task_families import parse_task_keys
    from circuits_benchmark.errors import BenchmarkError

    if indices is None:
        raise BenchmarkError("eval iit_acdc needs -i: which cases (3, 3,4,21, 1-10 or ioi)")
    model_ids = [case_model_id(case, weights, tracr) for case in parse_task_keys(indices)]
    compare("iit_acdc", model_ids, threshold, n_examples, seed, output_dir)


def compare(kind: str, model_ids: list[str], threshold: float, n_examples: int, seed: int, output_dir: Path) -> None:
    """Runs and prints the comparison for each model; checks the numbers before any work."""
    from circuits_benchmark.analyses.acdc_comparison import acdc_comparison_report
    from circuits_benchmark.formatting import format_number

    check_number("--threshold", threshold, minimum=0)
    check_number("--n-examples", n_examples, minimum=2)
    for model_id in model_ids:
        report = acdc_comparison_report(kind, model_id, output_dir, threshold, n_examples, seed)
        found, missed, extra = (report[k] for k in ("edges_found", "edges_missed", "edges_extra"))
        console.print(
            f"[bold]{report['model_id']}[/bold], ACDC at {threshold:g}: {len(found)} of {len(found) + len(missed)} ground-truth edges found, "
            f"{len(extra)} extra; edge AUROC {format_number(report['edge_auroc'], 3)}, node AUROC {format_number(report['node_auroc'], 3)}"
        )
        rows = [[f"{s} -> {d}", verdict] for verdict, edges in (("found", found), ("missed", missed), ("extra", extra)) for s, d in edges]
        console.print(titled_table("ACDC's edges against the ground truth", "edge", "", rows=rows))
        console.print(f"written to {report['result_dir']} (comparison.png)")
