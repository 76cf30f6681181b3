"""`./main.py bench`: the plan, the store it fills, skipping finished work, surviving Ctrl-C, two
benches at once, failures that do not stop the rest, the Ray executor, and one-line errors."""

from __future__ import annotations

import dataclasses
import json
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from circuits_benchmark.bench import VARIANTS, BenchRequest, Job, plan_jobs, run_bench
from circuits_benchmark.cases import ORIGINAL_RELEASE_IDS, all_case_ids
from circuits_benchmark.discovery.settings import ACDC_SWEEP, EDGE_PRUNING_SWEEP, SP_SWEEP, MethodSettings
from circuits_benchmark.errors import BenchmarkError
from circuits_benchmark.compiler.compressed_models import COMPRESSED_RELEASE_DIR, scored_compressed_id
from circuits_benchmark.models.model_id import ModelId
from circuits_benchmark.runs import RunConfig, RunPlace, run_discovery
from circuits_benchmark.storage.results_db import DATABASE_FILE, ResultsStore
from circuits_benchmark.training.artifacts import release_case_dir
from circuits_benchmark.hard.siit_task import HARD_RELEASE_DIR
from circuits_benchmark.training.release import read_manifest, released_case_ids

ROOT = Path(__file__).resolve().parents[1]
FAST = BenchRequest(case_ids=[3], kinds=["tracr"], labels=["acdc", "eap", "random"], n_examples=40, seeds=2)

IOI_RELEASED = {"siit:ioi:release"}


def stored_keys(output_dir: Path) -> list[str]:
    """Run keys in the order they were stored (none while the bench process is still creating the schema)."""
    try:
        return [row[0] for row in sqlite3.connect(output_dir / DATABASE_FILE).execute("SELECT run_key FROM runs ORDER BY id")]
    except sqlite3.OperationalError:
        return []


def with_compiled_cache(benched: Path, output_dir: Path) -> Path:
    """An output folder holding the compiled models of `benched`, so a bench subprocess does not recompile."""
    shutil.copytree(benched / "cache", output_dir / "cache")
    return output_dir


@pytest.fixture(scope="module")
def benched(bench_with_leaderboard) -> Path:
    """A small bench, run once for the tests that read its store."""
    return bench_with_leaderboard(FAST, "bench")


def test_the_original_suite_covers_the_original_release_with_every_method_and_sweep(tmp_path: Path) -> None:
    jobs = plan_jobs(BenchRequest(suite="original"), tmp_path)
    # acdc's default 0.025 is off its grid; edge pruning's default 0.9 is on it
    points = {"acdc": len(ACDC_SWEEP) + 1, "sp": len(SP_SWEEP), "sp-edge": len(SP_SWEEP), "edge-pruning": len(EDGE_PRUNING_SWEEP)}
    per_model = sum(points.get(label, 1) * 3 for label in VARIANTS)  # every method on three data seeds by default
    # With nothing trained here, the trained models are the released ones: no training step needed.
    released = [i for i in ORIGINAL_RELEASE_IDS if i in released_case_ids()]
    assert set(released) == {3, 4, 13, 18, 19, 21, 24, 34, 38}  # the non-trivial original-release cases
    # The shipped compressions: every original-release case but 18 (which does not compress), at its chosen width.
    compressed = {f"compressed:{i}:d{json.loads((COMPRESSED_RELEASE_DIR / f'case-{i:03d}' / 'compression.json').read_text())['chosen']}"
                  for i in ORIGINAL_RELEASE_IDS if i != 18}
    expected = {f"tracr:{i}" for i in ORIGINAL_RELEASE_IDS} | {f"siit:{i}:release" for i in released} | compressed
    expected |= IOI_RELEASED  # the IOI model too
    expected |= {f"siit:{key}:release" for key in read_manifest(HARD_RELEASE_DIR)["models"]}  # and the released hard family
    assert {job.config.model_id for job in jobs} == expected
    assert len(jobs) == len(expected) * per_model
    assert len({job.place.run_key for job in jobs}) == len(jobs)
    sp_edge = [job for job in jobs if job.place.label == "sp-edge" and job.config.model_id == "tracr:3"]
    assert all(job.config.settings.edgewise and job.place.sweep_size == len(SP_SWEEP) for job in sp_edge)
    assert sum(job.place.reference for job in sp_edge) == 3 and len({job.place.series_key for job in sp_edge}) == 3
    assert {job.config.seed for job in sp_edge} == {42, 43, 44}
    # Deterministic methods too: their intervals hold the variance from the data.
    assert {job.config.seed for job in jobs if job.place.label in ("acdc", "eap", "patching")} == {42, 43, 44}


def test_the_quick_default_shows_two_models_of_every_family_and_the_page_says_so(tmp_path: Path) -> None:
    """Compiled, trained and compressed models of the first two original-release cases, the IOI
    model and two released hard models, each with every method, sweep and seed; the leaderboard
    names the cut."""
    from circuits_benchmark.bench import bench_scope
    from circuits_benchmark.leaderboard.pages import write_leaderboard

    jobs = plan_jobs(BenchRequest(), tmp_path)
    models = {job.config.model_id for job in jobs}
    hard = {m for m in models if m.startswith("siit:hard")}
    assert models - hard == {"tracr:3", "tracr:4", "siit:3:release", "siit:4:release", scored_compressed_id(3, tmp_path),
                             scored_compressed_id(4, tmp_path)} | IOI_RELEASED
    assert len(hard) == 2 and hard <= {f"siit:{key}:release" for key in read_manifest(HARD_RELEASE_DIR)["models"]}
    full_plan = plan_jobs(BenchRequest(suite="full", case_ids=[3]), tmp_path)
    assert len(jobs) == len(models) * len([j for j in full_plan if j.config.model_id == "tracr:3"])
    with ResultsStore(tmp_path) as store:
        store.save_scope(bench_scope(BenchRequest()))
    write_leaderboard(tmp_path)
    for page in ("leaderboard.md", "leaderboard.html"):
        assert "quick: 2 models per family" in (tmp_path / page).read_text()


def test_a_trained_model_joins_the_plan_in_place_of_the_released_one(tmp_path: Path) -> None:
    run = tmp_path / "ll_models" / "case-003" / "some-run"
    run.mkdir(parents=True)
    request = dataclasses.replace(FAST, case_ids=[3, 4, 11], kinds=["tracr", "siit"])  # 11 is trivial: nothing released
    assert {j.config.model_id for j in plan_jobs(request, tmp_path)} == {"tracr:3", "tracr:4", "tracr:11", "siit:3:release", "siit:4:release"}
    # meta.json is written last by training: the run is finished
    meta = json.loads((release_case_dir(3) / "meta.json").read_text()) | {"metrics": {"accuracy": 1.0, "iia": 1.0, "strict_iia": 0.9}}
    (run / "meta.json").write_text(json.dumps(meta))
    planned = {j.config.model_id for j in plan_jobs(request, tmp_path)}
    assert planned == {"tracr:3", "tracr:4", "tracr:11", "siit:3:some-run", "siit:4:release"}
    # IOI has a trained model only: -i 3,ioi adds the release, or a local run, never a compiled or compressed IOI model
    with_ioi = dataclasses.replace(request, case_ids=[3, "ioi"], kinds=["tracr", "siit", "compressed"])
    assert {j.config.model_id for j in plan_jobs(with_ioi, tmp_path) if "ioi" in j.config.model_id} == IOI_RELEASED
    ioi_run = tmp_path / "ll_models" / "ioi" / "ioi-run"
    ioi_run.mkdir(parents=True)
    (ioi_run / "meta.json").write_text(json.dumps(meta | {"case_id": "ioi"}))
    planned = {j.config.model_id for j in plan_jobs(with_ioi, tmp_path)}
    assert "siit:ioi:ioi-run" in planned and not any(m.startswith(("tracr:ioi", "compressed:ioi")) for m in planned)


def test_the_full_suite_covers_every_compiled_case_and_every_released_model(tmp_path: Path) -> None:
    request = BenchRequest(suite="full", labels=["eap"])
    models = {j.config.model_id for j in plan_jobs(request, tmp_path)}
    compressed = {scored_compressed_id(i, tmp_path) for i in all_case_ids()} - {None}
    assert compressed and all(ModelId.parse(m).width for m in compressed)  # shipped, scored, named by width
    released = {f"siit:{i}:release" for i in released_case_ids()} | IOI_RELEASED
    # The hard family is in the default bench: every model of its release.
    hard = {f"siit:{key}:release" for key in read_manifest(HARD_RELEASE_DIR)["models"]}
    assert models == {f"tracr:{i}" for i in all_case_ids()} | released | hard | compressed


def test_bench_stores_every_run_and_the_sweep_roc_matches_a_sweep_run(benched: Path) -> None:
    with ResultsStore(benched) as store:
        runs = store.runs()
    assert len(runs) == len(plan_jobs(FAST, benched))
    acdc = [r for r in runs if r.label == "acdc"]
    assert len(acdc) == (len(ACDC_SWEEP) + 1) * FAST.seeds and all(r.versions["torch"] and r.wall_time_s > 0 for r in acdc)
    from circuits_benchmark.leaderboard.summary import series_results

    series = {s.label: s for s in series_results(runs)[0] if s.seed == 42}
    config = RunConfig("acdc", "tracr:3", MethodSettings(), sweep=True, n_examples=FAST.n_examples)
    swept = run_discovery(config, benched / "single", draw=False).evaluation
    assert series["acdc"].roc_source == "sweep"
    assert (series["acdc"].edge_auroc, series["acdc"].node_auroc) == (swept.edge_auroc, swept.node_auroc)
    assert series["eap"].roc_source == "ranking" and series["eap"].points == 1
    assert (benched / "leaderboard.md").exists() and (benched / "leaderboard.html").exists()
    assert "Bench: the chosen cases 3." in (benched / "leaderboard.md").read_text()  # what the bench covered


def test_a_rerun_skips_finished_work(benched: Path) -> None:
    before = stored_keys(benched)
    report = run_bench(FAST, benched)
    assert (report.skipped, report.ran) == (len(before), 0)
    assert stored_keys(benched) == before


def test_a_failing_run_is_reported_and_the_others_are_stored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import circuits_benchmark.bench as bench

    good = plan_jobs(dataclasses.replace(FAST, labels=["random"]), tmp_path)[0]
    bad_config = dataclasses.replace(good.config, model_id="tracr:999")
    bad = Job(bad_config, RunPlace("bad-key", "bad-key", "random"))
    monkeypatch.setattr(bench, "plan_jobs", lambda request, output_dir: [bad, good])
    report = run_bench(FAST, tmp_path)
    assert report.ran == 1 and report.failures == [("random", "tracr:999", report.failures[0][2])]
    assert "unknown case id 999" in report.failures[0][2]
    assert stored_keys(tmp_path) == [good.place.run_key]


def test_ctrl_c_keeps_finished_runs_and_a_rerun_completes_the_rest(benched: Path, tmp_path: Path, cli) -> None:
    with_compiled_cache(benched, tmp_path)
    # One process: every group of runs is stored as it finishes. Subnetwork probing's sweep trains
    # as one group (all its points at once, a few seconds here); sp-edge's is the next group.
    args = ["bench", "-i", "3", "--models", "tracr", "--methods", "sp,sp-edge", "--seeds", "1", "--n-examples", "40", "--jobs", "1", "-o", str(tmp_path)]
    # A shell that starts jobs in the background hands them SIGINT ignored; the bench gets Ctrl-C
    # as a user's terminal delivers it.
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "main.py"), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        if len(stored_keys(tmp_path)) >= len(SP_SWEEP):
            break
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    kept = stored_keys(tmp_path)
    assert process.returncode == 130, stderr
    assert len(kept) == len(SP_SWEEP)  # the first group whole, the second not at all
    rerun = cli(*args)
    assert rerun.exit_code == 0, rerun.stderr
    assert f"{len(kept)} already stored" in rerun.stdout
    assert stored_keys(tmp_path)[: len(kept)] == kept and len(stored_keys(tmp_path)) == 2 * len(SP_SWEEP)


def test_two_benches_at_once_share_the_store(benched: Path, tmp_path: Path) -> None:
    with_compiled_cache(benched, tmp_path)
    args = [sys.executable, str(ROOT / "main.py"), "bench", "-i", "3", "--models", "tracr", "--methods", "acdc,eap,random,magnitude", "--n-examples", "40", "--seeds", "1", "-o", str(tmp_path)]
    benches = [subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    for process in benches:
        _, stderr = process.communicate(timeout=120)
        assert process.returncode == 0, stderr
    keys = stored_keys(tmp_path)
    assert len(keys) == len(set(keys)) == len(ACDC_SWEEP) + 1 + 1 + 1 + 1  # acdc's sweep, eap, random, magnitude


def test_the_ray_executor_fills_the_same_store(benched: Path, tmp_path: Path) -> None:
    ray = pytest.importorskip("ray", reason="Ray is an optional extra: pip install 'circuits-benchmark[ray]'")
    request = dataclasses.replace(FAST, labels=["eap", "random"], executor="ray")
    ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False)  # one worker: the cheapest start-up
    try:
        report = run_bench(request, tmp_path)
    finally:
        ray.shutdown()
    assert report.ran == 2 * FAST.seeds and not report.failures  # eap and random on every seed
    with ResultsStore(tmp_path) as on_ray, ResultsStore(benched) as here:
        for run in on_ray.runs():
            assert run.metrics == here.run(run.run_key).metrics


def test_two_worker_processes_fill_the_same_store(benched: Path, tmp_path: Path) -> None:
    report = run_bench(dataclasses.replace(FAST, labels=["eap", "random"], jobs=2), tmp_path)
    assert report.ran == 2 * FAST.seeds and not report.failures
    with ResultsStore(tmp_path) as in_workers, ResultsStore(benched) as here:
        for run in in_workers.runs():
            assert run.metrics == here.run(run.run_key).metrics


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"suite": "half"}, "unknown suite 'half'"),
        ({"jobs": 0}, "--jobs must be at least 1"),
        ({"labels": ["acdc", "nope"]}, "unknown method 'nope'"),
        ({"kinds": ["compiled"]}, "unknown model kind compiled"),
        ({"executor": "spark"}, "unknown executor 'spark'"),
        ({"ablation": "noise"}, "unknown ablation 'noise'"),
    ],
)
def test_a_bad_request_is_refused_before_any_work(change: dict, message: str, tmp_path: Path) -> None:
    with pytest.raises(BenchmarkError, match=message):
        run_bench(dataclasses.replace(FAST, **change), tmp_path)
    assert not (tmp_path / DATABASE_FILE).exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [(["--ray-address", "auto"], "--ray-address needs --executor ray"), (["--methods", "nope"], "unknown method 'nope'")],
)
def test_bad_input_is_one_line_and_nonzero(args: list[str], message: str, tmp_path: Path, cli) -> None:
    result = cli("bench", "-i", "3", *args, "-o", str(tmp_path))
    assert result.exit_code == 2 and message in result.stderr and "Traceback" not in result.stderr
    assert len([line for line in result.stderr.splitlines() if line.startswith("error:")]) == 1
