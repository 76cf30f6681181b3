"""InterpBench's own flags: `--siit-weights` (its weights ids), `--interp-bench` (the released models)
and `eval iit_acdc` (the code of `eval ioi_acdc`)."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

from circuits_benchmark.bench import BenchRequest, plan_jobs
from circuits_benchmark.cli.app import main
from circuits_benchmark.cli.options import selected_model_ids
from circuits_benchmark.errors import BenchmarkError
from circuits_benchmark.models.registry import load_benchmark_model
from circuits_benchmark.training.artifacts import META_FILE, release_case_dir, run_dir
from circuits_benchmark.training.release import read_manifest, released_model_ids
from circuits_benchmark.training.siit_models import resolve_run_id, weights_id

DEFAULT_RUN = "b1-iit1-s0.4-lr0.003-bs64-atol0.05-seed0"


def local_run(output_dir: Path, run_id: str, strict: float) -> None:
    """A finished local run of case 1: the released model's files, its meta renamed and reweighted."""
    target = run_dir(output_dir, 1, run_id)
    shutil.copytree(release_case_dir(1), target)
    meta = json.loads((target / META_FILE).read_text())
    meta["run_id"], meta["model_id"] = run_id, f"siit:1:{run_id}"
    meta["weights"]["strict"] = meta["settings"]["strict_weight"] = strict
    (target / META_FILE).write_text(json.dumps(meta))


def run_main(monkeypatch: pytest.MonkeyPatch, *arguments: str) -> int:
    """`./main.py ARGUMENTS` in this process; its exit status."""
    monkeypatch.setattr(sys, "argv", ["main.py", *arguments])
    with pytest.raises(SystemExit) as exit_:
        main()
    return exit_.value.code


def test_weights_ids_are_interpbench_s() -> None:
    assert weights_id({"strict": 0.4, "behaviour": 1.0, "iit": 1.0}) == 510  # its README's and our defaults
    assert weights_id({"strict": 0.0, "behaviour": 1.0, "iit": 0.0}) == 100  # its natural (behaviour-only) model
    assert weights_id({"strict": 0.0, "behaviour": 0.29, "iit": 0.0}) == 29  # 28.999... in floating point


def test_a_number_names_the_one_local_run_with_those_weights_else_the_release(tmp_path: Path) -> None:
    assert resolve_run_id(tmp_path, 1, "510") == "release"  # a fresh clone: the release was trained with 510
    local_run(tmp_path, DEFAULT_RUN, strict=0.4)
    local_run(tmp_path, "b1-iit1-s0.5-lr0.003-bs64-atol0.05-seed0", strict=0.5)
    assert resolve_run_id(tmp_path, 1, "510") == DEFAULT_RUN  # the local run goes before the release
    assert resolve_run_id(tmp_path, 1, "610") == "b1-iit1-s0.5-lr0.003-bs64-atol0.05-seed0"
    assert load_benchmark_model("siit:1:510", tmp_path).model_id == f"siit:1:{DEFAULT_RUN}"
    assert resolve_run_id(tmp_path, 1, "release") == "release"
    local_run(tmp_path, "b1-iit1-s0.4-lr0.003-bs64-atol0.05-seed1", strict=0.4)
    with pytest.raises(BenchmarkError, match=r"weights id 510 names 2 runs of case 1: pass one run id") as error:
        resolve_run_id(tmp_path, 1, "510")
    assert f"{DEFAULT_RUN} (weights id 510)" in str(error.value) and "seed1 (weights id 510)" in str(error.value)
    assert resolve_run_id(tmp_path, 1, DEFAULT_RUN) == DEFAULT_RUN  # a run id still names its run


def test_siit_weights_naming_no_run_is_one_error_line_listing_the_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_main(monkeypatch, "run", "sp", "-i", "1", "--siit-weights", "999", "-o", str(tmp_path)) == 2
    error = capsys.readouterr().err.strip()
    assert error == "error: no run of case 1 has weights id 999 (runs: release (weights id 510))"
    assert run_main(monkeypatch, "eval", "iit", "-i", "1", "--siit-weights", "no-such-run", "-o", str(tmp_path)) == 2
    assert capsys.readouterr().err.strip().startswith("error: no finished run 'no-such-run' of case 1 (runs: release")


def test_interp_bench_selects_the_released_models() -> None:
    released = read_manifest()["models"]
    every = selected_model_ids(None, None, False, None, interp_bench=True)
    assert len(every) == len(released) and every[0] == "siit:1:release" and every[-1] == "siit:ioi:release"
    assert selected_model_ids("3,ioi", None, False, None, interp_bench=True) == ["siit:3:release", "siit:ioi:release"]
    with pytest.raises(BenchmarkError, match="no released SIIT model of case 5"):
        released_model_ids([3, 5])
    with pytest.raises(BenchmarkError, match=r"--interp-bench picks the released models: drop --tracr, -w/--siit-weights"):
        selected_model_ids("3", "510", True, None, interp_bench=True)


def test_bench_with_interp_bench_plans_only_the_released_models(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    jobs = plan_jobs(BenchRequest(labels=["acdc", "eap"], model_ids=released_model_ids([3, 4])), tmp_path)
    assert {job.config.model_id for job in jobs} == {"siit:3:release", "siit:4:release"}
    assert {job.config.method for job in jobs} == {"acdc", "eap"}
    assert run_main(monkeypatch, "bench", "-i", "3", "--interp-bench", "--models", "tracr", "-o", str(tmp_path)) == 2
    assert capsys.readouterr().err.strip() == "error: --interp-bench benches the released SIIT models: drop --models and --suite"


def test_acdc_comparison_splits_the_ground_truth_into_found_and_missed(tmp_path: Path, cache_dir: Path) -> None:
    """The code of `eval iit_acdc` and `eval ioi_acdc`, on case 3's compiled model: at threshold 0 ACDC
    keeps every edge that matters, so it misses no ground-truth edge."""
    from circuits_benchmark.analyses.acdc_comparison import acdc_comparison_report

    (tmp_path / "cache").symlink_to(cache_dir, target_is_directory=True)
    report = acdc_comparison_report("iit_acdc", "tracr:3", tmp_path, threshold=0.0, n_examples=20)
    truth = load_benchmark_model("tracr:3", tmp_path).ground_truth("resample").canonical()
    assert sorted(map(tuple, report["edges_found"] + report["edges_missed"])) == sorted(truth.edges)
    assert report["edges_missed"] == [] and report["edge_auroc"] == 1.0
    assert (Path(report["result_dir"]) / "comparison.png").stat().st_size > 0
    assert Path(report["result_dir"]).relative_to(tmp_path).parts[:2] == ("eval", "iit_acdc")
