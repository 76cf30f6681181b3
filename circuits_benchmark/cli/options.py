"""Options every command shares, spelled as InterpBench users know them."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from circuits_benchmark.choices import Ablation
from circuits_benchmark.paths import DEFAULT_RESULTS_DIR

Indices = Annotated[
    Optional[str],
    typer.Option("-i", "--indices", help="Cases: 3, 3,4,21, 1-10, all, suite (the non-trivial ones), or a named task such as ioi (default: all cases)."),
]
OutputDir = Annotated[
    Path, typer.Option("-o", "--output-dir", help="Where results and caches are written.")
]
Device = Annotated[str, typer.Option("-d", "--device", help="cpu, or cuda when present.")]
Seed = Annotated[int, typer.Option("--seed", help="Random seed.")]
Weights = Annotated[
    Optional[str],
    typer.Option(
        "-w", "--weights", "--siit-weights", "--run-id",
        help="Trained run: a run id, release, or InterpBench's weights id (510: the one run trained with -s 0.4 -b 1 -iit 1, "
        "else the release if it was); default: the case's best run, else the release.",
    ),
]
InterpBench = Annotated[
    bool,
    typer.Option("--interp-bench", help="The released SIIT models (siit:N:release): of the cases of -i, or of every released case."),
]
Tracr = Annotated[bool, typer.Option("--tracr", help="Use the tracr-compiled model instead of a trained one.")]
AblationOption = Annotated[str, typer.Option("--ablation", help=f"What ablated edges carry: {', '.join(Ablation)}.")]

# The project's results folder, not the working directory's (`circuits_benchmark.paths`).
DEFAULT_OUTPUT_DIR = DEFAULT_RESULTS_DIR


def check_number(flag: str, value: float | None, minimum: float | None = None, above: float | None = None) -> None:
    """Raises BenchmarkError (one line, naming the flag) unless `value` is None or a finite number
    within the bounds: >= minimum, > above."""
    import math

    from circuits_benchmark.errors import BenchmarkError

    if value is None:
        return
    bounds = []
    if minimum is not None:
        bounds.append(f">= {minimum:g}")
    if above is not None:
        bounds.append(f"> {above:g}")
    within = (minimum is None or value >= minimum) and (above is None or value > above)
    if not (math.isfinite(value) and within):
        raise BenchmarkError(f"{flag} must be a finite number{' ' + ' and '.join(bounds) if bounds else ''}, not {value}")


def resolve_device(name: str) -> str:
    """Checks a device name; raises BenchmarkError if cuda is asked for but absent."""
    from circuits_benchmark.errors import BenchmarkError

    if name == "cpu":
        return name
    if name.startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            raise BenchmarkError(f"device {name!r} asked for, but no CUDA device is present")
        return name
    raise BenchmarkError(f"unknown device {name!r}: use cpu or cuda")


def cache_dir(output_dir: Path) -> Path:
    """The compile cache inside an output folder."""
    return output_dir / "cache"


def selected_model_ids(indices: str | None, weights: str | None, tracr: bool, model: str | None, interp_bench: bool = False) -> list[str]:
    """The models a command covers: --model, else each case of -i (its trained model: run `-w`, or
    the default; the compiled one with --tracr; a named task, `-i ioi`, has only its trained model);
    with --interp-bench the released models of -i's cases, or of every released case."""
    from circuits_benchmark.training.task_families import parse_task_keys
    from circuits_benchmark.models.model_id import ModelId

    if interp_bench:
        return interp_bench_model_ids(indices, weights, tracr, model)
    if model:
        return [str(ModelId.parse(model))]
    return [case_model_id(case, weights, tracr) for case in parse_task_keys(indices)]


def interp_bench_model_ids(indices: str | None, weights: str | None, tracr: bool, model: str | None) -> list[str]:
    """--interp-bench's models (`training.release.released_model_ids`); raises BenchmarkError when
    another model choice is given beside it."""
    from circuits_benchmark.errors import BenchmarkError
    from circuits_benchmark.training.release import released_model_ids
    from circuits_benchmark.training.task_families import parse_task_keys

    clash = [flag for flag, given in (("--tracr", tracr), ("-w/--siit-weights", weights), ("--model", model)) if given]
    if clash:
        raise BenchmarkError(f"--interp-bench picks the released models: drop {', '.join(clash)}")
    return released_model_ids(parse_task_keys(indices) if indices else None)


def case_model_id(case: int | str, weights: str | None, tracr: bool) -> str:
    """The model `-i N` names: the compiled one with --tracr, else the trained one (run `-w`, or the
    default); a named task (`-i ioi`) has no compiled model."""
    from circuits_benchmark.errors import BenchmarkError
    from circuits_benchmark.models.model_id import ModelId
    from circuits_benchmark.training.task_families import task_family

    if tracr and not task_family(case).compiled:
        raise BenchmarkError(f"{case} has no compiled model (its high-level model is not a tracr program): drop --tracr")
    return str(ModelId.tracr(case) if tracr else ModelId.siit(case, weights))
