"""Trained SIIT runs as benchmark models: `siit:<task>[:<run-id>]`: the run the user trained (by
id, or the best one), else the model release that ships with the project (`siit:<task>:release`).

A trained model's inputs (for its checks, and for every method run on it) leave out what it trained
on: a tracr case's sampler skips the run's training inputs (rebuilt from its seed), IOI's draws
from the held-out templates and name pairs only.

A trained model is scored against the LL ground truth stored with it (ground_truth.json), which
training derived from the very correspondence its losses used. Everything else a discovery method
needs (input sampler, metric positions, defined positions) is its task's, from its task family
(`training.task_families`): for a tracr case, the `tracr:` model's.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path


from circuits_benchmark.circuits.circuit import Circuit
from circuits_benchmark.errors import BenchmarkError
from circuits_benchmark.models.benchmark_model import BenchmarkModel
from circuits_benchmark.models.model_id import ModelId
from circuits_benchmark.models.registry import register_loader
from circuits_benchmark.models.transformer import CircuitTransformer, TransformerConfig
from circuits_benchmark.storage.files import StorageError, check_sha256, load_tensors, read_json
from circuits_benchmark.training.artifacts import (
    CONFIG_FILE,
    GROUND_TRUTH_FILE,
    MANIFEST_FILE,
    META_FILE,
    MODEL_FILE,
    RELEASE_RUN_ID,
    TrainedModel,
    TrainingMeta,
    case_runs_dir,
    release_case_dir,
    run_dir,
)
from circuits_benchmark.training.correspondence import Correspondence
from circuits_benchmark.training.settings import HELD_OUT_METRICS
from circuits_benchmark.training.task_families import CaseKey, task_family


def finished_run_ids(output_dir: Path, case_id: CaseKey) -> list[str]:
    """Ids of the case's runs that finished (those with a meta.json), sorted."""
    root = case_runs_dir(output_dir, case_id)
    if not root.is_dir():
        return []
    return sorted(path.parent.name for path in root.glob(f"*/{META_FILE}"))


def run_rank(meta: TrainingMeta) -> tuple[float, float]:
    """How good a run is: its worst held-out metric first, then the mean of the three."""
    values = [meta.metrics[name] for name in HELD_OUT_METRICS]
    return min(values), sum(values) / len(values)


def best_run_id(output_dir: Path, case_id: CaseKey) -> str:
    """The finished SIIT run (IIT and strict losses both on) with the best `run_rank` (ties: the
    first id); raises BenchmarkError if none. IIT-only and behaviour-only runs (`eval realism`'s
    comparisons) are loaded by their run id, never by default."""
    ranked = []
    for run_id in finished_run_ids(output_dir, case_id):
        try:
            meta = TrainingMeta.read(run_dir(output_dir, case_id, run_id))
            if meta.settings.iit_weight > 0 and meta.settings.strict_weight > 0:
                ranked.append((run_rank(meta), run_id))
        except (StorageError, KeyError, TypeError):
            print(f"warning: skipping unreadable run {run_id} of case {case_id}", file=sys.stderr)
    if not ranked:
        raise BenchmarkError(
            f"no trained model of case {case_id} under {case_runs_dir(output_dir, case_id)}: run {task_family(case_id).train_command(case_id)}"
        )
    best = max(rank for rank, _ in ranked)
    return min(run_id for rank, run_id in ranked if rank == best)


def default_run_id(output_dir: Path, case_id: CaseKey) -> str:
    """What `siit:<case>` means: the best local SIIT run the user trained, else the released model.

    Raises BenchmarkError when there is neither.
    """
    try:
        return best_run_id(output_dir, case_id)
    except BenchmarkError:
        if (_run_folder(output_dir, case_id, RELEASE_RUN_ID) / META_FILE).exists():
            return RELEASE_RUN_ID
    raise BenchmarkError(
        f"no released or trained model of case {case_id}: run {task_family(case_id).train_command(case_id)}"
    )


def weights_id(weights: dict[str, float]) -> int:
    """InterpBench's name for a run's loss weights: 1000 * strict + 100 * behaviour + 10 * iit
    (510 is `-s 0.4 -b 1 -iit 1`, its defaults and ours). Rounded, where InterpBench truncates:
    in floating point 0.29 * 100 is 28.999..., which truncation would turn into 28."""
    return round(1000 * weights["strict"] + 100 * weights["behaviour"] + 10 * weights["iit"])


def _run_folder(output_dir: Path, case_id: CaseKey, run_id: str) -> Path:
    return release_case_dir(case_id, task_family(case_id).release_dir) if run_id == RELEASE_RUN_ID else run_dir(output_dir, case_id, run_id)


def run_weights_ids(output_dir: Path, case_id: CaseKey) -> dict[str, int | None]:
    """Run id -> weights id of every finished local run of a case, then of its released model
    (None for a run whose meta.json cannot be read)."""
    run_ids = finished_run_ids(output_dir, case_id)
    if (_run_folder(output_dir, case_id, RELEASE_RUN_ID) / META_FILE).exists():
        run_ids.append(RELEASE_RUN_ID)
    ids: dict[str, int | None] = {}
    for run_id in run_ids:
        try:
            ids[run_id] = weights_id(TrainingMeta.read(_run_folder(output_dir, case_id, run_id)).weights)
        except (StorageError, KeyError, TypeError):
            ids[run_id] = None
    return ids


def resolve_run_id(output_dir: Path, case_id: CaseKey, requested: str | None) -> str:
    """The run a `-w` / `--siit-weights` value names, for one case:

    - None: `default_run_id`;
    - a run id ("release" included) of a finished run: that run;
    - a number: InterpBench's weights id (`weights_id`). It names the case's one finished local run
      trained with those weights; when no local run has them, the released model if it does
      (so `--siit-weights 510` works on a fresh clone). Run ids are never all digits, so a number
      can be nothing else.

    Raises BenchmarkError, listing the case's runs with their weights ids, when the value names no
    run, or a number names two or more local runs (pass the run id instead).
    """
    if requested is None:
        return default_run_id(output_dir, case_id)
    if (_run_folder(output_dir, case_id, requested) / META_FILE).exists():
        return requested
    ids = run_weights_ids(output_dir, case_id)
    listing = ", ".join(f"{run_id} (weights id {number})" for run_id, number in ids.items()) or "none"
    if not requested.isdigit():
        raise BenchmarkError(f"no finished run {requested!r} of case {case_id} (runs: {listing})")
    local = [run_id for run_id, number in ids.items() if number == int(requested) and run_id != RELEASE_RUN_ID]
    if len(local) > 1:
        raise BenchmarkError(f"weights id {requested} names {len(local)} runs of case {case_id}: pass one run id with -w (runs: {listing})")
    if local:
        return local[0]
    if ids.get(RELEASE_RUN_ID) == int(requested):
        return RELEASE_RUN_ID
    raise BenchmarkError(f"no run of case {case_id} has weights id {requested} (runs: {listing})")


def load_run(output_dir: Path, case_id: CaseKey, run_id: str | None = None) -> TrainedModel:
    """Reads a finished run (`run_id` as `resolve_run_id` reads it: None is the default run,
    "release" the released model, a number InterpBench's weights id); raises BenchmarkError if
    absent or broken, or if a file's sha256 is not the one recorded (a released model's in its
    release manifest, a run's in its meta.json)."""
    run_id = resolve_run_id(output_dir, case_id, run_id)
    directory = _run_folder(output_dir, case_id, run_id)
    if run_id == RELEASE_RUN_ID:
        check_sha256(directory, _released_sha256(case_id, directory.parent), "the release manifest")
    try:
        meta = TrainingMeta.read(directory)
        if meta.sha256 is not None and run_id != RELEASE_RUN_ID:
            check_sha256(directory, meta.sha256, str(directory / META_FILE))
        model = CircuitTransformer(TransformerConfig.from_dict(read_json(directory / CONFIG_FILE)))
        model.load_state_dict(load_tensors(directory / MODEL_FILE), strict=True)
        truths = {a: Circuit.from_dict(c) for a, c in read_json(directory / GROUND_TRUTH_FILE).items()}
        correspondence = Correspondence.from_dict(meta.correspondence)
    except (KeyError, TypeError, ValueError, RuntimeError) as error:
        raise BenchmarkError(f"run {directory} is damaged: {error}") from None
    model.eval().requires_grad_(False)
    return TrainedModel(case_id, run_id, directory, model, truths, correspondence, meta)


def _released_sha256(case_id: CaseKey, release_dir: Path) -> dict[str, str]:
    """The sha256 of each file of a released model, from its release's manifest; raises
    BenchmarkError when the manifest cannot be read or does not list the task."""
    entry = read_json(release_dir / MANIFEST_FILE)["models"].get(str(case_id))
    if entry is None:
        raise BenchmarkError(f"the released model of {case_id} is not in {release_dir / MANIFEST_FILE}: the release is damaged")
    return entry["sha256"]


@register_loader("siit")
def load_siit_model(model_id: ModelId, output_dir: Path) -> BenchmarkModel:
    """The registry's loader of `siit:<task>[:<run-id>]`: a trained model with its LL ground truth,
    around its task (its family's `benchmark_model`)."""
    run = load_run(output_dir, model_id.case, model_id.run_id)
    if not task_family(run.case_id).ground_truth_current(run, output_dir):
        print(f"warning: {run.case_id}'s ground truth changed since run {run.run_id} was trained: retrain it", file=sys.stderr)
    return trained_benchmark_model(run, output_dir)


def trained_benchmark_model(run: TrainedModel, output_dir: Path) -> BenchmarkModel:
    """A trained model (read from disk, or held by the trainer) around its task: the network its
    family makes of it (the run's own, or an edited copy), its LL ground truth, the task's inputs and
    positions, and the parts its checks found redundant."""
    task_model = task_family(run.case_id).benchmark_model(run, output_dir)
    # Parts the finished model's checks found redundant (edges named `source->destination`).
    checks = run.meta.ground_truth_checks or {}
    dont_care = {a: [tuple(p.split("->")) for p in check["redundant"] if "->" in p] for a, check in checks.items()}
    return dataclasses.replace(
        task_model, model_id=run.model_id, ground_truths=run.ground_truths, dont_care_edges=dont_care,
        correspondence=dict(run.correspondence.mapping),
    )
