"""A user's case, method and metric (examples/user_plugin.py, outside the package) go through
`cases verify`, `run`, `bench` (in worker processes), the leaderboard and `train iit`.

The plug-in runs in processes of its own: what it registers would otherwise stay registered in the
test process, beside the built-in cases and methods other tests count."""

from __future__ import annotations

import functools
import json
from pathlib import Path

import pytest

from circuits_benchmark.discovery.methods import register_method
from circuits_benchmark.errors import BenchmarkError
from circuits_benchmark.storage.results_db import ResultsStore

ROOT = Path(__file__).resolve().parents[1]
PLUGIN = str(ROOT / "examples" / "user_plugin.py")


def test_a_user_case_method_and_metric_run_everywhere(tmp_path: Path, cli_process) -> None:
    run_cli = functools.partial(cli_process, "--plugin", PLUGIN)
    verified = run_cli("cases", "verify", "-i", "1000", "-o", str(tmp_path))
    assert verified.exit_code == 0 and "1 of 1 cases pass" in verified.stdout, verified.stderr
    ran = run_cli("run", "source-order", "-i", "1000", "--tracr", "--metric", "mean-abs", "-o", str(tmp_path))
    assert ran.exit_code == 0, ran.stderr
    (folder,) = (tmp_path / "source-order" / "case-1000" / "tracr").iterdir()
    result = json.loads((folder / "result.json").read_text())
    assert result["method"] == "source-order" and result["config"]["metric"] == "mean-abs"  # recorded by name
    benched = run_cli("bench", "-i", "1000", "--models", "tracr", "--methods", "source-order,acdc", "--seeds", "1", "--jobs", "2", "-o", str(tmp_path))
    assert benched.exit_code == 0 and "0 failed" in benched.stdout, benched.stderr
    with ResultsStore(tmp_path) as store:
        labels = {run.label for run in store.runs() if run.source == "bench"}
    assert labels == {"source-order", "acdc"}
    board = (tmp_path / "leaderboard.md").read_text()
    assert "| 1 | acdc | 1 |" in board and "| 2 | source-order | 1 |" in board
    trained = run_cli("train", "iit", "-i", "1000", "--epochs", "2", "-o", str(tmp_path))
    assert trained.exit_code == 0 and "siit:1000:" in trained.stdout, trained.stderr


def test_a_missing_plugin_is_one_error_line(cli) -> None:
    result = cli("--plugin", "no_such_plugin_module", "cases", "list")
    assert result.exit_code == 2 and result.stderr.strip() == "error: no plug-in module 'no_such_plugin_module' (give a module name on the Python path, or a .py file)"


def test_a_user_method_cannot_take_a_built_in_name() -> None:
    with pytest.raises(BenchmarkError, match="built-in method"):
        register_method("sp-edge", lambda problem, settings: None)


def test_a_program_tracr_cannot_compile_is_one_error_line(tmp_path: Path, cli_process) -> None:
    """tests/data/uncompilable_plugin.py: a selector width over `rasp.selector_and`, which ends in
    tracr's AttributeError; the user sees the case and the cause on one line, exit status 2."""
    plugin = str(ROOT / "tests" / "data" / "uncompilable_plugin.py")
    for command in (["cases", "compile"], ["run", "acdc", "--tracr"]):
        result = cli_process("--plugin", plugin, *command, "-i", "1001", "-o", str(tmp_path))
        errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
        assert result.exit_code == 2 and "Traceback" not in result.stderr, result.stderr
        assert errors == [
            "error: case 1001: tracr cannot compile its RASP program: it combines selectors (SelectorAnd), which tracr "
            "does not compile (AttributeError: 'SelectorAnd' object has no attribute 'queries')"
        ]
