"""`./main.py release build|list`: the SIIT model release that ships with the project (thin)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from circuits_benchmark.choices import Ablation
from circuits_benchmark.cli.options import DEFAULT_OUTPUT_DIR, Indices, OutputDir
from circuits_benchmark.cli.siit import ground_truth_verdict, redundancy_notes
from circuits_benchmark.cli.tables import titled_table

app = typer.Typer(help="The released SIIT models: build the release from trained runs, list it.", no_args_is_help=True)
console = Console()


def manifest_table(manifest: dict, name: str = "siit") -> Table:
    """The models of a release (the release folder `name`), one row per task (the model is
    `siit:<task>:release`), with verdicts in words that an 80-column terminal shows whole."""
    from circuits_benchmark.training.settings import HELD_OUT_METRICS

    table = titled_table(
        f"released models of {name}/, siit:<task>:release (held-out figures; ground truth under resample / mean ablation)",
        "task", "params", "accuracy", "IIA", "strict IIA", "resample", "mean",
    )
    for key, entry in manifest["models"].items():
        metrics, checks = entry["metrics"], entry["ground_truth_checks"]
        table.add_row(
            key, str(entry["parameters"]),
            *(f"{100 * metrics[m]:.2f}%" for m in HELD_OUT_METRICS),
            *(ground_truth_verdict(checks[a]) if a in checks else "not checked" for a in (Ablation.RESAMPLE, Ablation.MEAN)),
        )
    return table


@app.command("build")
def build(
    indices: Indices = "suite",
    output_dir: OutputDir = DEFAULT_OUTPUT_DIR,
    release_dir: Annotated[Optional[Path], typer.Option("--release-dir", help="Where to release (default: the tasks' own release, the project's for built-in tasks).")] = None,
) -> None:
    """Release each selected task's best trained run under OUTPUT_DIR that clears its bar (tracr
    cases: 99.5% accuracy, IIA and strict IIA; ground truth faithful and minimal); list the rest."""
    from circuits_benchmark.training.task_families import parse_task_keys, task_family
    from circuits_benchmark.errors import BenchmarkError
    from circuits_benchmark.training.release import best_runs, build_release

    runs = best_runs(output_dir, parse_task_keys(indices))
    if not runs:
        raise BenchmarkError(f"no finished SIIT run under {output_dir / 'll_models'} for these cases")
    manifest = build_release(runs, output_dir, release_dir)
    # build_release has checked that the runs share one family's release folder
    _print_manifest(manifest, (release_dir or task_family(next(iter(runs))).release_dir).name)


@app.command("list")
def list_release() -> None:
    """Every released model with its held-out figures and ground-truth checks, and the cases left
    out: the project's release, then each family's own (the hard family's)."""
    from circuits_benchmark.training.release import read_manifest
    from circuits_benchmark.training.task_families import task_families

    for release_dir in dict.fromkeys(family.release_dir for family in task_families()):
        if (release_dir / "manifest.json").exists():
            _print_manifest(read_manifest(release_dir), release_dir.name)


def _print_manifest(manifest: dict, name: str = "siit") -> None:
    console.print(manifest_table(manifest, name))
    for entry in manifest["models"].values():
        for line in redundancy_notes(entry["model_id"], entry["ground_truth_checks"]):
            console.print(line)
    for case_id, excluded in manifest.get("excluded", {}).items():
        console.print(f"case {case_id} not released ({excluded['run_id']}): {excluded['reason']}")
    total = manifest.get("total_bytes", 0)
    console.print(f"{len(manifest['models'])} models, {total / 1e6:.1f} MB{_suite_coverage(manifest)}")


def _suite_coverage(manifest: dict) -> str:
    """"; N of 118 suite cases" for a release holding cases of the realistic suite, else ""."""
    from circuits_benchmark.cases import suite_case_ids

    suite = suite_case_ids()
    released = {entry["case_id"] for entry in manifest["models"].values()} & set(suite)
    return f"; {len(released)} of {len(suite)} suite cases" if released else ""

