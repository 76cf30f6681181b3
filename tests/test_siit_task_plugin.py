"""A user's SIIT task (examples/user_siit_task.py: its own causal model, LL shape and recipe),
registered from a plug-in file, goes through `train iit`, `release build`, `run` and `bench` as the
built-in tasks do."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from circuits_benchmark.storage.results_db import ResultsStore

PLUGIN = Path(__file__).resolve().parents[1] / "examples" / "user_siit_task.py"
KEY = "previous-token"


@pytest.fixture()
def plugin_cli(cli_process):
    """args -> `./main.py --plugin examples/user_siit_task.py ARGS`, in a process of its own (the
    plug-in's family must not stay registered in the test process); asserts it exits 0."""

    def invoke(*args: str):
        result = cli_process("--plugin", str(PLUGIN), *args)
        assert result.exit_code == 0, result.stderr
        return result

    return invoke


def test_a_plugin_task_is_trained_released_run_and_benched(plugin_cli, tmp_path: Path) -> None:
    output, release = tmp_path / "results", tmp_path / "release"
    trained = plugin_cli("train", "iit", "-i", KEY, "-o", str(output))
    run_id = "b1-iit1-s0.4-lr0.01-bs64-atol0.05-seed0"  # the family's recipe: lr 1e-2, not the tracr cases' 3e-3
    assert f"siit:{KEY}:{run_id}" in trained.stdout
    meta = json.loads((output / "ll_models" / KEY / run_id / "meta.json").read_text())
    assert min(meta["metrics"].values()) >= 0.995 and meta["ground_truth_checks"]["resample"]["faithful"]

    plugin_cli("release", "build", "-i", KEY, "-o", str(output), "--release-dir", str(release))
    manifest = json.loads((release / "manifest.json").read_text())
    assert list(manifest["models"]) == [KEY] and (release / KEY / "model.safetensors").is_file()

    ran = plugin_cli("run", "acdc", "-i", KEY, "-o", str(output))
    assert "TP 2 FP 0 FN 0" in ran.stdout  # embed -> a0.h0 (v), a0.h0 -> output: the ground truth
    plugin_cli("bench", "-i", KEY, "--methods", "acdc,random", "--seeds", "1", "-o", str(output))
    with ResultsStore(output) as store:
        benched = {(run.label, run.model_id) for run in store.runs() if run.source == "bench"}
    assert {label for label, _ in benched} == {"acdc", "random"}
    assert {model for _, model in benched} == {f"siit:{KEY}:{run_id}"}
