"""Options every command shares, spelled as InterpBench users know them."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from circuits_benchmark.choices import Ablation
from circuits_benchmark.paths import DEFAULT_RESULTS_DIR

Indices = Annotated[
    Optional[str],
    typer.Option("-i", "--indices", help="Cases: 3, 3,4,21, 1-10, all, or suite (the non-trivial ones) (default: all cases)."),
]
OutputDir = Annotated[
    Path, typer.Option("-o", "--output-dir", help="Where results and caches are written.")
]
Device = Annotated[str, typer.Option("-d", "--device", help="cpu, or cuda when present.")]
Seed = Annotated[int, typer.Option("--seed", help="Random seed.")]
AblationOption = Annotated[str, typer.Option("--ablation", help=f"What ablated edges carry: {', '.join(Ablation)}.")]

# The project's results folder, not the working directory's (`circuits_benchmark.paths`).
DEFAULT_OUTPUT_DIR = DEFAULT_RESULTS_DIR


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
