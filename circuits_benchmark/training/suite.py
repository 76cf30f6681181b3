"""Training many cases in one command: `./main.py train iit -i suite --jobs 2 --resume`.

Each case is one `train_siit` run in its own worker process (one torch thread each: these models
are too small for intra-op threads to pay). With `resume`, a case whose run already finished
with the same settings is skipped and an interrupted one continues from its checkpoint, so a
killed suite run picks up where it stopped, across processes and sessions.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Callable

import torch

from circuits_benchmark.errors import BenchmarkError
from circuits_benchmark.storage.files import StorageError
from circuits_benchmark.training.artifacts import META_FILE, TrainingMeta, run_dir
from circuits_benchmark.training.task_families import CaseKey
from circuits_benchmark.training.settings import SiitSettings
from circuits_benchmark.training.trainer import EpochCallback, Tracker, train_siit
from circuits_benchmark.workers import map_in_workers


@dataclasses.dataclass(frozen=True)
class CaseOutcome:
    """What became of one case: its meta dict when trained (or already trained), else why not."""

    case_id: CaseKey
    status: str  # "trained", "already trained" or "not trained"
    meta: TrainingMeta | None = None
    reason: str = ""


def finished_meta(output_dir: Path, case_id: CaseKey, settings: SiitSettings) -> TrainingMeta | None:
    """The meta of the case's finished run with exactly these settings, or None."""
    directory = run_dir(output_dir, case_id, settings.run_id())
    try:
        meta = TrainingMeta.read(directory) if (directory / META_FILE).exists() else None
    except (StorageError, KeyError, TypeError):
        return None
    if meta is None or meta.settings != settings:
        return None
    return meta


def train_case(
    case_id: CaseKey,
    settings: SiitSettings,
    output_dir: Path,
    resume: bool,
    device: str = "cpu",
    on_epoch: EpochCallback | None = None,
    tracker: Tracker | None = None,
) -> CaseOutcome:
    """Trains one case, or with `resume` skips it when its run finished with these settings.

    A case that cannot be trained (no circuit node, or an existing run without `resume`) is
    "not trained", with the reason, rather than an error: it must not stop the other cases.
    """
    meta = finished_meta(output_dir, case_id, settings) if resume else None
    if meta is not None:
        return CaseOutcome(case_id, "already trained", meta)
    try:
        return CaseOutcome(case_id, "trained", train_siit(case_id, settings, output_dir, resume, device, on_epoch, tracker))
    except BenchmarkError as error:
        return CaseOutcome(case_id, "not trained", reason=str(error))


def train_in_workers(
    settings: dict[CaseKey, SiitSettings],
    output_dir: Path,
    resume: bool,
    jobs: int,
    on_outcome: Callable[[CaseOutcome], None],
) -> list[CaseOutcome]:
    """`train_case` for every case of `settings` (case -> its settings) in `jobs` worker processes
    (CPU); `on_outcome` as each ends.

    On Ctrl-C the workers stop at once; each run keeps its last checkpoint (at most 15 s old).
    """
    outcomes = []
    for outcome in map_in_workers(_worker, [(case_id, case_settings, output_dir, resume) for case_id, case_settings in settings.items()], jobs):
        outcomes.append(outcome)
        on_outcome(outcome)
    return sorted(outcomes, key=lambda outcome: (isinstance(outcome.case_id, str), str(outcome.case_id).zfill(3)))


def _worker(arguments: tuple[CaseKey, SiitSettings, Path, bool]) -> CaseOutcome:
    torch.set_num_threads(1)  # `jobs` processes share the cores
    return train_case(*arguments)
