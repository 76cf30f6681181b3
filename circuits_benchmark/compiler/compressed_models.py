"""Compressed tracr models by id: `compressed:<case>` (the case's chosen width) or
`compressed:<case>:d<width>` (any width tried), stored and loaded.

A case's compression is a folder `case-NNN/` holding `compression.json` (`Compression.to_dict`:
the width chosen, every width's output match, and the verification of each width verified) and
`projections.safetensors` (one projection per width kept). `./main.py cases compress` writes it
under `<output_dir>/compressed/`; the ones that ship with the project are in
`circuits_benchmark/releases/compressed/`, read when the output folder has none.

A compressed model is scored (has a ground truth) when its output matches the program at
`MATCH_BAR` and the compiled ground truth is faithful on it under every ablation, verified as a
compiled model is; its redundant ground-truth edges are its don't-care edges, as for compiled
models. One that fails is loaded without a ground truth: it can be run and analysed, not scored.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Callable

from circuits_benchmark.errors import BenchmarkError
from circuits_benchmark.models.benchmark_model import BenchmarkModel
from circuits_benchmark.compiler.compiled_case import CompiledCase
from circuits_benchmark.compiler.compression import MATCH_BAR, Compression, build_compressed, compress
from circuits_benchmark.models.model_id import ModelId
from circuits_benchmark.storage.files import atomic_save_tensors, atomic_write_json, load_tensors, read_json
from circuits_benchmark.compiler.tracr_models import compiled_benchmark_model
from circuits_benchmark.models.registry import register_loader

COMPRESSED_RELEASE_DIR = Path(__file__).resolve().parents[1] / "releases" / "compressed"
COMPRESSION_FILE = "compression.json"
PROJECTIONS_FILE = "projections.safetensors"


def compression_dir(root: Path, case_id: int) -> Path:
    return root / f"case-{case_id:03d}"


def save_compression(compression: Compression, verification: dict[int, dict[str, Any]], root: Path) -> tuple[dict[str, Any], Path]:
    """Writes a compression and its verification per width (`verification_summary`) under `root`;
    returns what `compression.json` holds, and the folder."""
    folder = compression_dir(root, compression.case_id)
    stored = compression.to_dict() | {"verification": {str(w): v for w, v in verification.items()}}
    atomic_save_tensors(folder / PROJECTIONS_FILE, {f"d{w}": p.contiguous() for w, p in compression.projections.items()})
    atomic_write_json(folder / COMPRESSION_FILE, stored)
    return stored, folder


def compress_and_store(
    compiled: CompiledCase, root: Path, seed: int = 0, on_step: Callable[[dict[str, Any]], None] | None = None
) -> tuple[dict[str, Any], Path]:
    """Compresses a compiled case (`compression.compress`), verifies the chosen width and stores
    both under `root`; returns what was stored and where."""
    from circuits_benchmark.compiler.verification import verify_case

    compression = compress(compiled, seed, on_step)
    verified = {}
    if compression.chosen is not None:
        model = build_compressed(compiled.model, compression.projections[compression.chosen])
        verified[compression.chosen] = verification_summary(verify_case(dataclasses.replace(compiled, model=model)))
    return save_compression(compression, verified, root)


def verification_summary(report: Any) -> dict[str, Any]:
    """What is kept of a `VerificationReport` of a compressed model."""
    return {
        "behaviour_mismatches": report.behaviour_mismatches,
        "inputs_checked": report.inputs_checked,
        "status": report.short_status(),
        "faithful": {name: check.faithful for name, check in report.ablations.items()},
        "redundant_edges": {name: [list(edge) for edge in check.redundant_edges] for name, check in report.ablations.items()},
    }


def find_compression(case_id: int, output_dir: Path) -> tuple[dict[str, Any], Path]:
    """The stored compression of a case (the output folder's, else the release's) and its folder."""
    for root in (output_dir / "compressed", COMPRESSED_RELEASE_DIR):
        folder = compression_dir(root, case_id)
        if (folder / COMPRESSION_FILE).exists():
            return read_json(folder / COMPRESSION_FILE), folder
    raise BenchmarkError(f"case {case_id} has no compressed model: run ./main.py cases compress -i {case_id}")


def scored_compressed_id(case_id: int, output_dir: Path) -> str | None:
    """`compressed:<case>:d<width>` when the case's chosen compression is scored (module docstring), else None."""
    try:
        stored, _ = find_compression(case_id, output_dir)
    except BenchmarkError:
        return None
    chosen = stored["chosen"]
    verified = stored["verification"].get(str(chosen)) if chosen is not None else None
    return str(ModelId.compressed(case_id, chosen)) if verified and all(verified["faithful"].values()) else None


@register_loader("compressed")
def load_compressed_model(model_id: ModelId, output_dir: Path) -> BenchmarkModel:
    """The registry's loader of `compressed:<case>[:d<width>]` (see the module docstring)."""
    from circuits_benchmark.compiler.cache import load_compiled_case
    from circuits_benchmark.compiler.verification import verify_case

    case_id = model_id.case_id
    stored, folder = find_compression(case_id, output_dir)
    compiled = load_compiled_case(case_id, output_dir / "cache")
    if stored["compiled_fingerprint"] != compiled.fingerprint:
        raise BenchmarkError(f"case {case_id} changed since it was compressed: run ./main.py cases compress -i {case_id}")
    width = model_id.width or stored["chosen"]
    if width is None:
        tried = ", ".join(f"{s['variable']} {s['dimensions']}->{s['to']} {100 * s['match']:.1f}%" for s in stored["steps"])
        raise BenchmarkError(f"case {case_id} does not compress: no halving keeps {100 * MATCH_BAR:g}% of outputs ({tried})")
    projections = load_tensors(folder / PROJECTIONS_FILE)
    if f"d{width}" not in projections:
        raise BenchmarkError(f"case {case_id} was not compressed to width {width}: widths {', '.join(stored['matches'])}")
    model = build_compressed(compiled.model, projections[f"d{width}"])
    verified = stored["verification"].get(str(width))
    if verified is None:
        verified = verification_summary(verify_case(dataclasses.replace(compiled, model=model)))
    # Every stored width matched at MATCH_BAR (only kept halvings are stored): scored when faithful.
    scored = all(verified["faithful"].values())
    task_model = compiled_benchmark_model(compiled)
    return dataclasses.replace(
        task_model,
        model_id=str(ModelId.compressed(case_id, width)),
        model=model,
        ground_truths=task_model.ground_truths if scored else {},
        dont_care_edges={a: [tuple(e) for e in edges] for a, edges in verified["redundant_edges"].items()} if scored else {},
    )
