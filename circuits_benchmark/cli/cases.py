"""`./main.py cases ...`: list, show, compile and verify the tracr case library."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from circuits_benchmark.choices import Ablation, Granularity
from circuits_benchmark.cli.options import DEFAULT_OUTPUT_DIR, Device, Indices, OutputDir, Seed, cache_dir, resolve_device
from circuits_benchmark.cli.progress import progress_bar

app = typer.Typer(help="The tracr case library: list, show, compile, verify.", no_args_is_help=True)
console = Console(width=200) if not sys.stdout.isatty() else Console()


def _load_all(indices: str | None, output_dir: Path) -> list:
    from circuits_benchmark.cases import parse_case_ids
    from circuits_benchmark.compiler.catalogue import compile_cases

    case_ids = parse_case_ids(indices)
    with progress_bar("loading cases", len(case_ids)) as advance:
        return compile_cases(case_ids, cache_dir(output_dir), advance)


@app.command("list")
def list_cases(indices: Indices = None, output_dir: OutputDir = DEFAULT_OUTPUT_DIR) -> None:
    """A table of the cases: task, sizes, ground truth and verification status."""
    from circuits_benchmark.compiler.catalogue import summarize

    table = Table(title="tracr cases")
    for column in ("id", "task", "|V|", "L", "output", "layers/heads", "GT resample n/e", "GT zero n/e", "verification"):
        table.add_column(column, overflow="fold")
    for compiled in _load_all(indices, output_dir):
        row = summarize(compiled)
        sizes = [f"{n}/{e}" for n, e in (row.ground_truth_size[Ablation.RESAMPLE], row.ground_truth_size[Ablation.ZERO])]
        table.add_row(
            str(row.case_id), row.description, str(row.vocab_size), str(row.max_seq_len), row.output_kind,
            f"{row.layers}/{row.heads}", *sizes, row.verification,
        )
    console.print(table)


@app.command("show")
def show_case(
    indices: Indices = None,
    output_dir: OutputDir = DEFAULT_OUTPUT_DIR,
    draw: Annotated[Optional[Path], typer.Option("--draw", help="Render the ground truth to FILE.png or .svg.")] = None,
    ablation: Annotated[str, typer.Option("--ablation", help="Which ground truth to draw: resample or zero.")] = "resample",
) -> None:
    """Details of a case and its ground-truth circuits as text (and a drawing with --draw)."""
    from circuits_benchmark.compiler.catalogue import stored_verification
    from circuits_benchmark.circuits.circuit import full_circuit
    from circuits_benchmark.circuits.drawing import draw_circuit
    from circuits_benchmark.errors import BenchmarkError

    if ablation not in (Ablation.RESAMPLE, Ablation.ZERO):
        raise BenchmarkError(f"unknown ablation {ablation!r}: use resample or zero")
    selected = _load_all(indices, output_dir)
    for compiled in selected:
        case, cfg = compiled.case, compiled.model.cfg
        console.print(f"[bold]case {case.case_id}[/bold]: {case.description}")
        console.print(f"  vocabulary ({len(case.vocab)}): {', '.join(map(repr, case.vocab))}")
        console.print(f"  max length {case.max_seq_len} (incl. BOS), causal {case.causal}, trivial {case.trivial}")
        console.print(
            f"  model: {cfg.n_layers} layers x {cfg.n_heads} heads, d_model {cfg.d_model}, d_mlp {cfg.d_mlp}, "
            f"{cfg.output_kind} output ({cfg.d_vocab_out}), cache {compiled.entry_dir}"
        )
        report = stored_verification(compiled)
        console.print(f"  verification: {'not verified (run: cases verify)' if report is None else report.status()}")
        for name in (Ablation.RESAMPLE, Ablation.ZERO):
            console.print(f"  ground truth, {name} ablation: " + compiled.ground_truth(name, Granularity.QKV).to_text().replace("\n", "\n    "))
            pruned = compiled.pruned_edges.get(name)
            if pruned:
                listed = ", ".join(f"{s}->{d}" for s, d in pruned)
                console.print(f"    read by the weights but changing no output, so left out: {listed}")
        if draw is not None:
            target = draw if len(selected) == 1 else draw.with_name(f"{draw.stem}-case{case.case_id}{draw.suffix}")
            full = full_circuit(cfg.n_layers, cfg.n_heads, cfg.d_mlp > 0)
            draw_circuit(compiled.ground_truth(ablation), target, f"case {case.case_id} ground truth ({ablation})", full)
            console.print(f"  drawn to {target}")


@app.command("compile")
def compile_command(
    indices: Indices = None,
    output_dir: OutputDir = DEFAULT_OUTPUT_DIR,
    device: Device = "cpu",
) -> None:
    """Compile the selected cases (default all) and cache models and ground truths."""
    resolve_device(device)
    start = time.perf_counter()
    compiled = _load_all(indices, output_dir)
    console.print(f"{len(compiled)} cases compiled or loaded in {time.perf_counter() - start:.1f} s, cache {cache_dir(output_dir)}")


@app.command("verify")
def verify_command(
    indices: Indices = None,
    output_dir: OutputDir = DEFAULT_OUTPUT_DIR,
    seed: Seed = 0,
) -> None:
    """Check each case: model == program, ground truth faithful and minimal; store the result."""
    from circuits_benchmark.compiler.catalogue import verify_and_store

    compiled = _load_all(indices, output_dir)
    failures = 0
    with progress_bar("verifying", len(compiled)) as advance:
        reports = []
        for item in compiled:
            reports.append(verify_and_store(item, seed))
            advance(1)
    for report in reports:
        failures += not report.passed
        mode = "all" if report.exhaustive else "sampled"
        console.print(f"case {report.case_id:>3} ({report.inputs_checked} {mode} inputs): {report.status()}")
    console.print(f"{len(reports) - failures} of {len(reports)} cases pass every check")


@app.command("compress")
def compress_command(
    indices: Indices = None,
    release: Annotated[bool, typer.Option("--release", help="Write into the project's shipped compressions instead.")] = False,
    seed: Seed = 0,
    output_dir: OutputDir = DEFAULT_OUTPUT_DIR,
) -> None:
    """Compress each case's residual stream, variable by variable, as far as its outputs allow
    (`compressed:N`), and verify the compiled ground truth on it; stored under <output-dir>/compressed/."""
    import torch

    from circuits_benchmark.compiler.compressed_models import COMPRESSED_RELEASE_DIR, compress_and_store
    from circuits_benchmark.compiler.compression import most_halvings

    torch.set_num_threads(1)
    root = COMPRESSED_RELEASE_DIR if release else output_dir / "compressed"
    for compiled in _load_all(indices, output_dir):
        case_id = compiled.case.case_id
        with progress_bar(f"case {case_id}: halvings", most_halvings(compiled)) as advance:
            stored, folder = compress_and_store(
                compiled, root, seed, lambda step: advance(1, status=f"{step['variable']} -> {step['to']}: {100 * step['match']:.1f}%")
            )
        tried = ", ".join(
            f"{s['variable']} {s['dimensions']}->{s['to']} {100 * s['match']:.1f}%{'' if s['kept'] else ' (undone)'}" for s in stored["steps"]
        )
        chosen = stored["chosen"]
        verdict = "does not compress" if chosen is None else f"d_model {stored['d_model']} -> {chosen}: {stored['verification'][str(chosen)]['status']}"
        console.print(f"case {case_id}: {verdict} ({tried}; {stored['seconds']:.0f} s) -> {folder}")
