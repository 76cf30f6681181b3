"""`./main.py results ls|show|rm|export`: the results store (`results/results.sqlite`)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

from circuits_benchmark.cli.options import DEFAULT_OUTPUT_DIR, OutputDir
from circuits_benchmark.cli.tables import titled_table

app = typer.Typer(help="The results store: list, show, remove and export stored runs.", no_args_is_help=True)
console = Console(width=200) if not sys.stdout.isatty() else Console()

Method = Annotated[Optional[str], typer.Option("--method", help="Only this method (label, e.g. sp-edge or a submission's name).")]
Model = Annotated[Optional[str], typer.Option("--model", help="Only this model id, e.g. tracr:3.")]


@app.command("ls")
def list_runs(method: Method = None, model: Model = None, output_dir: OutputDir = DEFAULT_OUTPUT_DIR) -> None:
    """One line per stored run: id, method, model, sweep point, AUROC, faithfulness, time."""
    from circuits_benchmark.formatting import format_number
    from circuits_benchmark.storage.results_db import ResultsStore

    with ResultsStore(output_dir) as store:
        runs = store.runs(method, model)
    table = titled_table(
        f"{len(runs)} runs in {output_dir}",
        "id", "method", "model", "sweep point", "edge AUROC", "node AUROC", "edge TPR/FPR", "CPR", "CMD", "s", "finished", "source",
    )
    for run in runs:
        point = f"{run.sweep_parameter}={run.sweep_value:g}" if run.sweep_parameter else ""
        m = run.metrics
        table.add_row(
            str(run.run_id), run.label, run.model_id, point, format_number(m.get("edge_auroc"), 3), format_number(m.get("node_auroc"), 3),
            f"{format_number(m.get('edge_tpr'))}/{format_number(m.get('edge_fpr'))}", format_number(m.get("cpr"), 3), format_number(m.get("cmd"), 3),
            f"{run.wall_time_s:.2f}", run.finished_at, run.source,
        )
    console.print(table)


@app.command("show")
def show_run(
    run: Annotated[str, typer.Argument(help="A run id (from `results ls`) or run key.")],
    output_dir: OutputDir = DEFAULT_OUTPUT_DIR,
) -> None:
    """Everything stored about one run: settings, versions, metrics, ROC points, circuit."""
    import json

    from circuits_benchmark.storage.results_db import ResultsStore

    with ResultsStore(output_dir) as store:
        record = store.run(run)
    fields = (
        "run_id", "run_key", "series_key", "source", "label", "method", "model_id", "ablation", "metric", "n_examples",
        "seed", "sweep_parameter", "sweep_value", "sweep_size", "reference", "wall_time_s", "finished_at", "host",
    )
    for name in fields:
        console.print(f"{name:>16}: {getattr(record, name)}", highlight=False)
    for name, value in (("parameters", record.parameters), ("versions", record.versions), ("metrics", record.metrics)):
        console.print(f"{name:>16}: {json.dumps(value)}", highlight=False)
    for curve, points in record.roc.items():
        console.print(f"{'ROC ' + curve:>16}: " + " ".join(f"({f:.3f}, {t:.3f})" for f, t in points), highlight=False)
    edges = record.result["circuit"]["edges"]
    console.print(f"{'circuit':>16}: {len(edges)} edges: " + ", ".join(f"{s}->{d}" for s, d in edges), highlight=False)


@app.command("rm")
def remove_runs(
    runs: Annotated[list[str], typer.Argument(help="Run ids (from `results ls`) or run keys.")],
    output_dir: OutputDir = DEFAULT_OUTPUT_DIR,
) -> None:
    """Delete runs from the store (all or none: an unknown one deletes nothing); `./main.py
    leaderboard` then rewrites the pages without them."""
    from circuits_benchmark.storage.results_db import ResultsStore

    with ResultsStore(output_dir) as store:
        removed = store.delete_runs(runs)
    for record in removed:
        console.print(f"removed run {record.run_id}: {record.label} on {record.model_id} ({record.run_key})", highlight=False)


@app.command("export")
def export_runs(
    csv: Annotated[Path, typer.Option("--csv", help="Write every run with its metrics to this CSV file (- for stdout).")],
    output_dir: OutputDir = DEFAULT_OUTPUT_DIR,
) -> None:
    """Export the stored runs, one row each with settings and metrics."""
    from circuits_benchmark.storage.files import atomic_write_bytes
    from circuits_benchmark.storage.results_db import ResultsStore, runs_to_csv

    with ResultsStore(output_dir) as store:
        runs = store.runs()
    text = runs_to_csv(runs)
    if str(csv) == "-":
        sys.stdout.write(text)
        return
    atomic_write_bytes(csv, text.encode())
    console.print(f"{len(runs)} runs -> {csv}", highlight=False)
