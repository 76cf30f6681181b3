"""The case catalogue: one summary row per compiled case, with its stored verification status."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Callable, Iterable

from circuits_benchmark.compiler.verification import VerificationReport, verify_case
from circuits_benchmark.compiler.cache import load_compiled_case, verification_path
from circuits_benchmark.compiler.compiled_case import CompiledCase
from circuits_benchmark.storage.files import StorageError, atomic_write_json, read_json

Progress = Callable[[int], None]


@dataclasses.dataclass
class CaseSummary:
    """What `cases list` shows for one case."""

    case_id: int
    description: str
    vocab_size: int
    max_seq_len: int
    output_kind: str
    layers: int
    heads: int
    ground_truth_size: dict[str, tuple[int, int]]  # ablation -> (nodes, edges), component level
    verification: str


def stored_verification(compiled: CompiledCase) -> VerificationReport | None:
    """The verification report saved beside the compiled model, if any (None if absent or corrupt)."""
    path = verification_path(compiled)
    if not path.exists():
        return None
    try:
        return VerificationReport.from_dict(read_json(path))
    except (StorageError, KeyError, TypeError):
        return None


def verify_and_store(compiled: CompiledCase, seed: int = 0) -> VerificationReport:
    """Verifies a compiled case and stores the report beside the compiled model."""
    report = verify_case(compiled, seed)
    atomic_write_json(verification_path(compiled), report.to_dict())
    return report


def summarize(compiled: CompiledCase) -> CaseSummary:
    """The catalogue row of a compiled case."""
    cfg = compiled.model.cfg
    report = stored_verification(compiled)
    return CaseSummary(
        case_id=compiled.case.case_id,
        description=compiled.case.description,
        vocab_size=len(compiled.case.vocab),
        max_seq_len=compiled.case.max_seq_len,
        output_kind=cfg.output_kind,
        layers=cfg.n_layers,
        heads=cfg.n_heads,
        ground_truth_size={
            ablation: (len(c.canonical().nodes), len(c.canonical().edges)) for ablation, c in compiled.ground_truths.items()
        },
        verification="not verified (run: cases verify)" if report is None else report.short_status(),
    )


def compile_cases(case_ids: Iterable[int], cache_dir: Path, advance: Progress = lambda _: None) -> list[CompiledCase]:
    """Loads (compiling where needed) every selected case, calling `advance(1)` after each."""
    compiled = []
    for case_id in case_ids:
        compiled.append(load_compiled_case(case_id, cache_dir))
        advance(1)
    return compiled
