"""`./main.py bench`: every discovery method with its sweep on every chosen model, into the results
store, then the leaderboard. The work is `circuits_benchmark.bench.run_bench`."""

from __future__ import annotations

import os
import sys
from typing import Annotated, Optional

import typer
from rich.console import Console

from circuits_benchmark.cli.options import DEFAULT_OUTPUT_DIR, AblationOption, InterpBench, OutputDir, Seed
from circuits_benchmark.discovery.methods import method_variants

console = Console(width=200) if not sys.stdout.isatty() else Console()

Cases = Annotated[Optional[str], typer.Option("-i", "--indices", help="Cases: 3, 3,4,21, 1-10 or a named SIIT task such as ioi (default: those of --suite, and the named tasks).")]
Methods = Annotated[
    Optional[str],
    typer.Option("--methods", help=f"Comma-separated: {', '.join(method_variants())} (default: all)."),
]
Kinds = Annotated[
    str,
    typer.Option("--models", help="Model kinds: tracr (compiled), siit (trained) and/or compressed (the last two used where one exists and is scored)."),
]
Examples = Annotated[Optional[int], typer.Option("--n-examples", help="Clean (and as many corrupted) inputs per run (default: 100; the quick suite runs the IOI model on 20).")]
Executor = Annotated[str, typer.Option("--executor", help="local (this machine) or ray.")]
Suite = Annotated[str, typer.Option("--suite", help="quick (2 models of every family: compiled, trained, compressed, IOI, hard; minutes), original (the original-release cases and every named task) or full (every case of every family).")]
Jobs = Annotated[Optional[int], typer.Option("--jobs", "-j", help="Worker processes of the local executor (default: one per CPU core, at most 4).")]
RayAddress = Annotated[
    Optional[str], typer.Option("--ray-address", help="With --executor ray: a running cluster (e.g. auto, HEAD:6379); default: start a local Ray.")
]


DEFAULT_KINDS = "tracr,siit,compressed"
DEFAULT_SUITE = "quick"


def bench(
    indices: Cases = None,
    suite: Suite = DEFAULT_SUITE,
    methods: Methods = None,
    models: Kinds = DEFAULT_KINDS,
    interp_bench: InterpBench = False,
    ablation: AblationOption = "resample",
    n_examples: Examples = None,
    seed: Seed = 42,
    seeds: Annotated[int, typer.Option("--seeds", help="Data seeds of every method (independent draws of its inputs; stochastic methods draw their randomness from them too): seed, seed+1, ...")] = 3,
    executor: Executor = "local",
    jobs: Jobs = None,
    ray_address: RayAddress = None,
    output_dir: OutputDir = DEFAULT_OUTPUT_DIR,
) -> None:
    """Run every method with its sweep on the chosen cases, store every run, write the leaderboard.

    Finished runs are skipped, so a rerun (or a rerun after Ctrl-C) continues where the last stopped.
    """
    from circuits_benchmark.errors import BenchmarkError

    if ray_address and executor != "ray":
        raise BenchmarkError("--ray-address needs --executor ray")
    if interp_bench and (models != DEFAULT_KINDS or suite != DEFAULT_SUITE):
        raise BenchmarkError("--interp-bench benches the released SIIT models: drop --models and --suite")
    from circuits_benchmark.bench import BenchRequest, run_bench
    from circuits_benchmark.training.task_families import parse_task_keys
    from circuits_benchmark.cli.leaderboard import show_rankings
    from circuits_benchmark.cli.progress import progress_bar
    from circuits_benchmark.leaderboard.pages import write_leaderboard
    from circuits_benchmark.training.release import released_model_ids

    request = BenchRequest(
        case_ids=parse_task_keys(indices) if indices else None,
        suite=suite,
        kinds=[k.strip() for k in models.split(",")],
        labels=[m.strip() for m in methods.split(",")] if methods else None,
        ablation=ablation,
        n_examples=n_examples,
        seed=seed,
        seeds=seeds,
        executor=executor,
        ray_address=ray_address,
        jobs=jobs if jobs is not None else (1 if executor == "ray" else min(4, len(os.sched_getaffinity(0)))),
        model_ids=released_model_ids(parse_task_keys(indices) if indices else None) if interp_bench else None,
    )
    report = run_bench(request, output_dir, progress_bar)
    console.print(
        f"bench: {report.total} runs planned, {report.skipped} already stored, {report.ran} run now, "
        f"{len(report.failures)} failed, {report.wall_time_s:.1f} s",
        highlight=False,
    )
    show_rankings(*write_leaderboard(output_dir))
    for label, model_id, message in report.failures:
        console.print(f"failed: {label} on {model_id}: {message}", highlight=False)
    if report.failures:
        raise BenchmarkError(f"{len(report.failures)} of {report.total} runs failed (listed above); every other run is stored")
