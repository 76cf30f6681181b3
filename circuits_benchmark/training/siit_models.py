"""Trained SIIT runs as benchmark models: `siit:<case>[:<run-id>]`: the run the user trained (by
id, or the best one), else the model release that ships with the project (`siit:<case>:release`).

A trained model's inputs (for its checks, and for every method run on it) leave out what it trained
on: a tracr case's sampler skips the run's training inputs (rebuilt from its seed), IOI's draws
from the held-out templates and name pairs only.

A trained model is scored against the LL ground truth stored with it (ground_truth.json), which
training derived from the very correspondence its losses used. Everything else a discovery method
needs (input sampler, metric positions, defined positions) is the tracr case's, taken from the
`tracr:` loader rather than rebuilt here.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import torch

from circuits_benchmark.circuits.circuit import Circuit
from circuits_benchmark.errors import BenchmarkError
from circuits_benchmark.models.benchmark_model import BenchmarkModel, ExcludingSampler
from circuits_benchmark.models.model_id import IOI, ModelId
from circuits_benchmark.models.registry import load_benchmark_model
from circuits_benchmark.models.transformer import CircuitTransformer, TransformerConfig
from circuits_benchmark.storage.files import StorageError, load_tensors, read_json
from circuits_benchmark.training.artifacts import (
    CONFIG_FILE,
    GROUND_TRUTH_FILE,
    META_FILE,
    MODEL_FILE,
    RELEASE_RUN_ID,
    TrainingMeta,
    case_runs_dir,
    release_case_dir,
    run_dir,
)
from circuits_benchmark.training.correspondence import Correspondence, ll_ground_truths

RUN_METRICS = ("accuracy", "iia", "strict_iia")


@dataclasses.dataclass
class TrainedRun:
    """A finished SIIT run read back from disk."""

    case_id: int | str
    run_id: str
    directory: Path
    model: CircuitTransformer
    ground_truths: dict[str, Circuit]
    correspondence: Correspondence
    meta: TrainingMeta

    @property
    def model_id(self) -> str:
        return str(ModelId.siit(self.case_id, self.run_id))


def train_command(case: int | str) -> str:
    """The command that trains a case's model."""
    return "./main.py train ioi" if case == IOI else f"./main.py train iit -i {case}"


def finished_run_ids(output_dir: Path, case_id: int | str) -> list[str]:
    """Ids of the case's runs that finished (those with a meta.json), sorted."""
    root = case_runs_dir(output_dir, case_id)
    if not root.is_dir():
        return []
    return sorted(path.parent.name for path in root.glob(f"*/{META_FILE}"))


def run_rank(meta: TrainingMeta) -> tuple[float, float]:
    """How good a run is: its worst held-out metric first, then the mean of the three."""
    values = [meta.metrics[name] for name in RUN_METRICS]
    return min(values), sum(values) / len(values)


def best_run_id(output_dir: Path, case_id: int | str) -> str:
    """The finished SIIT run (IIT and strict losses both on) with the best `run_rank` (ties: the
    first id); raises BenchmarkError if none. IIT-only and behaviour-only runs (`eval realism`'s
    comparisons) are loaded by their run id, never by default."""
    ranked = []
    for run_id in finished_run_ids(output_dir, case_id):
        try:
            meta = TrainingMeta.read(run_dir(output_dir, case_id, run_id))
            if meta.settings["iit_weight"] > 0 and meta.settings["strict_weight"] > 0:
                ranked.append((run_rank(meta), run_id))
        except (StorageError, KeyError, TypeError):
            print(f"warning: skipping unreadable run {run_id} of case {case_id}", file=sys.stderr)
    if not ranked:
        raise BenchmarkError(
            f"no trained model of case {case_id} under {case_runs_dir(output_dir, case_id)}: run {train_command(case_id)}"
        )
    best = max(rank for rank, _ in ranked)
    return min(run_id for rank, run_id in ranked if rank == best)


def default_run_id(output_dir: Path, case_id: int | str) -> str:
    """What `siit:<case>` means: the best local SIIT run the user trained, else the released model.

    Raises BenchmarkError when there is neither.
    """
    try:
        return best_run_id(output_dir, case_id)
    except BenchmarkError:
        if (release_case_dir(case_id) / META_FILE).exists():
            return RELEASE_RUN_ID
    raise BenchmarkError(
        f"no released or trained model of case {case_id}: run {train_command(case_id)}"
    )


def load_run(output_dir: Path, case_id: int | str, run_id: str | None = None) -> TrainedRun:
    """Reads a finished run (`default_run_id` when `run_id` is None; "release" is the released
    model); raises BenchmarkError if absent or broken."""
    run_id = run_id or default_run_id(output_dir, case_id)
    directory = release_case_dir(case_id) if run_id == RELEASE_RUN_ID else run_dir(output_dir, case_id, run_id)
    if not (directory / META_FILE).exists():
        known = ", ".join(finished_run_ids(output_dir, case_id)) or "none"
        raise BenchmarkError(f"no finished run {run_id!r} of case {case_id} (finished runs: {known})")
    try:
        meta = TrainingMeta.read(directory)
        model = CircuitTransformer(TransformerConfig.from_dict(read_json(directory / CONFIG_FILE)))
        model.load_state_dict(load_tensors(directory / MODEL_FILE), strict=True)
        truths = {a: Circuit.from_dict(c) for a, c in read_json(directory / GROUND_TRUTH_FILE).items()}
        correspondence = Correspondence.from_dict(meta.correspondence)
    except (KeyError, TypeError, ValueError, RuntimeError) as error:
        raise BenchmarkError(f"run {directory} is damaged: {error}") from None
    model.eval().requires_grad_(False)
    return TrainedRun(case_id, run_id, directory, model, truths, correspondence, meta)


def ground_truth_is_current(run: TrainedRun, case_ground_truths: dict[str, Circuit]) -> bool:
    """Whether the run's stored ground truth is still the image of its case's current one."""
    return ll_ground_truths(run.correspondence, case_ground_truths) == run.ground_truths


def load_siit_model(model_id: ModelId, output_dir: Path) -> BenchmarkModel:
    """The registry's loader of `siit:<case>[:<run-id>]` and `siit:ioi[:<run-id>]`: a trained model
    with its LL ground truth and the case's task."""
    case_id = model_id.case
    run = load_run(output_dir, case_id, model_id.run_id)
    if case_id == IOI:
        task_model = ioi_task_model(run)
    else:
        task_model = load_benchmark_model(ModelId.tracr(case_id), output_dir)
        task_model.sample_tokens = ExcludingSampler(task_model.sample_tokens, training_inputs(run, output_dir))
    if case_id != IOI and not ground_truth_is_current(run, task_model.ground_truths):
        print(
            f"warning: case {case_id}'s ground truth changed since run {run.run_id} was trained: retrain it",
            file=sys.stderr,
        )
    # Parts the finished model's checks found redundant (edges named `source->destination`).
    checks = run.meta.ground_truth_checks or {}
    dont_care = {a: [tuple(p.split("->")) for p in check["redundant"] if "->" in p] for a, check in checks.items()}
    return dataclasses.replace(
        task_model, model_id=run.model_id, model=run.model, ground_truths=run.ground_truths, dont_care_edges=dont_care,
        correspondence=dict(run.correspondence.mapping),
    )


def training_inputs(run: TrainedRun, output_dir: Path) -> torch.Tensor:
    """The inputs a tracr case's run trained on, rebuilt from its seed (`data_split`); raises
    BenchmarkError when the rebuilt split is not the one the run recorded."""
    from circuits_benchmark.models.compiled import load_compiled_case
    from circuits_benchmark.training.data_split import split_unique_inputs

    split = split_unique_inputs(load_compiled_case(run.case_id, output_dir / "cache"), run.meta.seed)
    if split.fingerprint() != run.meta.split.get("fingerprint"):
        raise BenchmarkError(f"{run.model_id}: its training split cannot be rebuilt (fingerprint differs), so its training inputs cannot be held out")
    return split.train


def ioi_task_model(run: TrainedRun) -> BenchmarkModel:
    """The IOI task around a trained IOI model: sentences of every template, the last position.

    Raises BenchmarkError for a model of an earlier IOI task (other words or templates)."""
    from circuits_benchmark.ioi import task_model
    from circuits_benchmark.ioi.high_level import task_fingerprint

    if run.meta.hl_model.get("fingerprint") != task_fingerprint():
        raise BenchmarkError(f"{run.model_id} was trained on an earlier IOI task (other words or templates): retrain it with {train_command(IOI)}")

    return BenchmarkModel(
        model_id=run.model_id,
        model=run.model,
        sample_tokens=task_model.sample_held_out_tokens,
        metric_positions=task_model.metric_positions(),
        ground_truths=run.ground_truths,
    )
