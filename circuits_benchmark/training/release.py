"""The project's model release: verified SIIT models that ship in the repository.

`circuits_benchmark/releases/siit/` holds one folder per released case, laid out like a training
run (`training.artifacts`: model.safetensors, config.json, ground_truth.json, meta.json without
the per-epoch history), and one `manifest.json`: per case the source run, settings, seed,
parameter count, held-out accuracy / IIA / strict IIA, the ground truth's faithfulness and
minimality per ablation, the sha256 of every file and the library versions; and the cases left
out, each with its figures and the reason.

A model is released only when it clears the bar: accuracy, IIA and strict IIA at least
`RELEASE_TARGET` on held-out inputs, and a ground truth that is faithful and minimal under
resample ablation (`evaluation.ground_truth_check`; a family may judge by its own checks,
`TaskFamily.release_ground_truth_checks`: the hard family's are `hard.checks`). A family may ship
in its own folder (`TaskFamily.release_dir`: the hard family's is `releases/hard/`). The release is read by the `siit:` loader
under the run id `release` (`siit:3:release`, and `siit:3` where no local run exists).
"""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path
from typing import Any, Sequence

from circuits_benchmark.choices import Ablation
from circuits_benchmark.errors import BenchmarkError
from circuits_benchmark.models.model_id import ModelId
from circuits_benchmark.storage.files import StorageError, atomic_write_json, load_tensors, read_json, sha256_of
from circuits_benchmark.training.artifacts import (
    CONFIG_FILE,
    GROUND_TRUTH_FILE,
    MANIFEST_FILE,
    META_FILE,
    MODEL_FILE,
    RELEASE_RUN_ID,
    TrainingMeta,
    release_case_dir,
    run_dir,
)
from circuits_benchmark.training.ground_truth_checks import ground_truth_problems
from circuits_benchmark.training.siit_models import (
    finished_run_ids,
    load_run,
    trained_benchmark_model,
    run_rank,
)
from circuits_benchmark.training.settings import HELD_OUT_METRICS
from circuits_benchmark.training.task_families import DEFAULT_RELEASE_BAR, task_family
from circuits_benchmark.training.task_keys import SIIT_RELEASE_DIR, CaseKey, task_key
from circuits_benchmark.versions import library_versions

RELEASE_TARGET = DEFAULT_RELEASE_BAR
RELEASED_FILES = (MODEL_FILE, CONFIG_FILE, GROUND_TRUTH_FILE, META_FILE)


def read_manifest(release_dir: Path = SIIT_RELEASE_DIR) -> dict[str, Any]:
    """The release manifest ({"models": {}} when nothing is released); raises BenchmarkError if unreadable."""
    path = release_dir / MANIFEST_FILE
    if not path.exists():
        return {"models": {}, "excluded": {}}
    try:
        return read_json(path)
    except StorageError as error:
        raise BenchmarkError(f"the model release is damaged: {error}") from None


def released_case_ids(release_dir: Path = SIIT_RELEASE_DIR) -> list[int]:
    """Tracr cases with a released SIIT model, ascending (named tasks are released under their names)."""
    return sorted(int(key) for key in read_manifest(release_dir)["models"] if key.isdigit())


def released_model_ids(cases: Sequence[CaseKey] | None = None, release_dir: Path = SIIT_RELEASE_DIR) -> list[str]:
    """`siit:<case>:release` for each of `cases`, or for every released case (tracr cases by id,
    then named tasks) when None: what InterpBench's `--interp-bench` selects. Raises BenchmarkError naming
    the cases given that have no released model."""
    released = sorted(read_manifest(release_dir)["models"], key=_case_order)
    keys = released if cases is None else [str(case) for case in cases]
    missing = [key for key in keys if key not in released]
    if missing:
        raise BenchmarkError(f"no released SIIT model of case {', '.join(missing)}: `./main.py release list` shows the released ones")
    return [str(ModelId.siit(key, RELEASE_RUN_ID)) for key in keys]


def _case_order(key: str) -> tuple[bool, int, str]:
    """Manifest order: tracr cases by id, then named tasks by name."""
    return (not key.isdigit(), int(key) if key.isdigit() else 0, key)


def release_target(case_id: CaseKey) -> float:
    """The held-out bar of a task's release: its family's (`TaskFamily.release_bar`)."""
    return task_family(case_id).release_bar


def release_verdict(meta: TrainingMeta) -> str:
    """'' when a finished run clears the release bar, else why not (one line, with the figures)."""
    target = release_target(meta.case_id)
    problems = [f"{name} {100 * meta.metrics[name]:.2f}%" for name in HELD_OUT_METRICS if meta.metrics[name] < target]
    check = (meta.ground_truth_checks or {}).get(Ablation.RESAMPLE)
    if check is None:
        problems.append("ground truth never checked")
    else:
        problems.extend(ground_truth_problems(check))
    return "; ".join(problems)


def build_release(runs: dict[CaseKey, str], output_dir: Path, release_dir: Path | None = None) -> dict[str, Any]:
    """Releases the given runs (task key -> run id under `output_dir`) that clear the bar into
    `release_dir` (default: their task family's release, which must be one folder).

    Cases already released and not in `runs` stay as they are; a case in `runs` that fails the
    bar is listed under "excluded" with its figures (and its earlier release, if any, removed).
    The ground truth is judged by the checks its family names (`TaskFamily.release_ground_truth_checks`:
    those stored with the run, computed for runs trained before the checks existed; the hard
    family's own, re-run on held-out inputs). Returns the manifest.
    """
    if release_dir is None:
        folders = {task_family(case_id).release_dir for case_id in runs}
        if len(folders) > 1:
            raise BenchmarkError(f"these tasks ship in different release folders ({', '.join(map(str, sorted(folders)))}): release them one family at a time")
        release_dir = folders.pop() if folders else SIIT_RELEASE_DIR
    manifest = read_manifest(release_dir)
    for case_id, run_id in sorted(runs.items(), key=lambda item: _case_order(str(item[0]))):
        source = run_dir(output_dir, case_id, run_id)
        meta = TrainingMeta.read(source)
        run = load_run(output_dir, case_id, run_id)
        meta.ground_truth_checks = task_family(case_id).release_ground_truth_checks(run, trained_benchmark_model(run, output_dir))
        target = release_case_dir(case_id, release_dir)
        verdict = release_verdict(meta) if task_family(case_id).ground_truth_current(run, output_dir) else (
            "trained against an earlier ground truth of its case: retrain it"
        )
        key = str(case_id)
        if verdict:
            manifest["models"].pop(key, None)
            shutil.rmtree(target, ignore_errors=True)
            manifest["excluded"][key] = {"run_id": run_id, "reason": verdict, "metrics": meta.metrics}
            continue
        manifest["excluded"].pop(key, None)
        released_meta = _copy_run(source, target, meta)
        manifest["models"][key] = _manifest_entry(case_id, released_meta, target)
    return _write_manifest(manifest, release_dir)


def recheck_release(output_dir: Path, release_dir: Path = SIIT_RELEASE_DIR) -> list[str]:
    """Judges every model of a release again, on inputs it never trained on, by its family's checks
    (as training stores them now): records the checks in its meta.json and the manifest, and moves
    a model that no longer clears its bar to "excluded", with the reason. Returns the keys moved.
    Releases built before held-out checking existed recorded checks on mostly training inputs."""
    manifest = read_manifest(release_dir)
    moved = []
    for key in list(manifest["models"]):
        case_id = task_key(key)
        run = load_run(output_dir, case_id, RELEASE_RUN_ID)
        run.meta.ground_truth_checks = task_family(case_id).check_ground_truth(run, trained_benchmark_model(run, output_dir))
        target = release_case_dir(case_id, release_dir)
        verdict = release_verdict(run.meta)
        if verdict:
            manifest["models"].pop(key)
            shutil.rmtree(target)
            manifest["excluded"][key] = {"run_id": run.meta.source_run_id, "reason": verdict, "metrics": run.meta.metrics}
            moved.append(key)
            continue
        atomic_write_json(target / META_FILE, run.meta.to_dict())
        manifest["models"][key] = _manifest_entry(case_id, run.meta, target)
    _write_manifest(manifest, release_dir)
    return moved


def _write_manifest(manifest: dict[str, Any], release_dir: Path) -> dict[str, Any]:
    """Sorts, totals and writes a release's manifest (atomically); returns it."""
    manifest["models"] = dict(sorted(manifest["models"].items(), key=lambda item: _case_order(item[0])))
    manifest["excluded"] = dict(sorted(manifest["excluded"].items(), key=lambda item: _case_order(item[0])))
    manifest["total_bytes"] = sum(entry["bytes"] for entry in manifest["models"].values())
    manifest["release_target"] = RELEASE_TARGET
    manifest["versions"] = library_versions()
    atomic_write_json(release_dir / MANIFEST_FILE, manifest)
    return manifest


def _copy_run(source: Path, target: Path, meta: TrainingMeta) -> TrainingMeta:
    """Copies a run's files to its release folder (staged, then renamed); returns the released meta:
    the run's without its per-epoch history, under the run id "release"."""
    staging = target.parent / f".{target.name}.staging"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    for name in (MODEL_FILE, CONFIG_FILE, GROUND_TRUTH_FILE):
        shutil.copyfile(source / name, staging / name)
    released_meta = dataclasses.replace(
        meta, history=None, source_run_id=meta.run_id, run_id=RELEASE_RUN_ID, model_id=str(ModelId.siit(meta.case_id, RELEASE_RUN_ID))
    )
    atomic_write_json(staging / META_FILE, released_meta.to_dict())
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)
    return released_meta


def _manifest_entry(case_id: CaseKey, meta: TrainingMeta, directory: Path) -> dict[str, Any]:
    n_params = sum(int(t.numel()) for t in load_tensors(directory / MODEL_FILE).values())
    checks = {
        ablation: {key: check[key] for key in ("faithful", "minimal", "changed_fraction", "redundant")}
        for ablation, check in meta.ground_truth_checks.items()
    }
    return {
        "case_id": case_id,
        "model_id": meta.model_id,
        "source_run_id": meta.source_run_id,
        "settings": dataclasses.asdict(meta.settings),
        "seed": meta.seed,
        "parameters": n_params,
        "epochs": meta.epochs,
        "train_seconds": meta.train_seconds,
        "metrics": meta.metrics,
        "release_target": release_target(case_id),
        "ground_truth_checks": checks,
        "sha256": {name: sha256_of(directory / name) for name in RELEASED_FILES},
        "bytes": sum((directory / name).stat().st_size for name in RELEASED_FILES),
        "versions": meta.versions,
    }


def best_runs(output_dir: Path, case_ids: list[CaseKey]) -> dict[CaseKey, str]:
    """For each case with finished local runs, the run to release: the best of those that clear
    the bar, else the best one (so that the manifest records why the case is left out)."""
    chosen = {}
    for case_id in case_ids:
        metas = {}
        for run_id in finished_run_ids(output_dir, case_id):
            try:
                metas[run_id] = TrainingMeta.read(run_dir(output_dir, case_id, run_id))
            except (StorageError, KeyError, TypeError):
                continue
        if metas:
            chosen[case_id] = max(metas, key=lambda r: (not release_verdict(metas[r]), run_rank(metas[r]), r))
    return chosen
