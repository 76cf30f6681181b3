"""The command line: fast --help without heavy imports, tables, drawings, one-line errors.

Commands run in this process (the `cli` fixture); the tests of the real entry point's process
(import weight, exit status, the hand-over to the project's interpreter) start `main.py`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_help_imports_no_heavy_library() -> None:
    """What keeps `--help` fast (its time is measured by benchmarks/case_library.py); only a fresh
    process shows what `--help` imports."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", str(ROOT / "main.py"), "--help"], capture_output=True, text=True
    )
    assert result.returncode == 0 and "cases" in result.stdout
    imported = {line.split("|")[-1].strip().split(".")[0] for line in result.stderr.splitlines() if "|" in line}
    assert not imported & {"torch", "jax", "tracr", "transformer_lens"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["cases", "show", "-i", "3x"], "malformed case selection"),
        (["cases", "show", "-i", "16"], "unknown case id 16"),
        (["cases", "list", "-i", "9-2"], "empty case range"),
        (["cases", "compile", "-i", "3", "-d", "tpu"], "unknown device"),
        (["cases", "show", "-i", "3", "--draw", "x.bmp"], "cannot draw"),
        (["run", "acdc", "-i", "3", "--tracr", "--threshold", "nan"], "--threshold must be a finite number"),
        (["run", "acdc", "-i", "3", "--tracr", "--threshold", "inf"], "--threshold must be a finite number"),
        (["run", "acdc", "-i", "3", "--tracr", "--threshold", "-1"], "--threshold is acdc's tau, a metric change: it must be >= 0, not -1.0"),
        (["run", "acdc", "-i", "3", "--tracr", "--sweep", "--threshold", "-0.5"], "--threshold is acdc's tau, a metric change: it must be >= 0"),
        (["run", "sp", "-i", "3", "--tracr", "--epochs", "-5"], "--epochs must be at least 1"),
        (["run", "sp", "-i", "3", "--tracr", "--lambda-reg", "-1"], "--lambda-reg must be a finite number >= 0"),
        (["run", "eap", "-i", "3", "--tracr", "--integrated-grad-steps", "0"], "--integrated-grad-steps must be at least 1"),
        (["run", "acdc", "-i", "3", "--tracr", "--ablation", "noise"], "unknown ablation 'noise'"),
        (["run", "eap", "-i", "3", "--tracr", "--metric", "cosine"], "unknown metric 'cosine'"),
        # Every model is checked before the first run: nothing of case 3 is computed either.
        (["run", "eap", "-i", "3,5"], "no released or trained model of case 5"),
        (["bench", "-i", "3", "--seeds", "0"], "--seeds must be at least 1"),
        (["train", "iit", "-i", "3", "--lr", "nan"], "must be finite numbers"),
        (["train", "iit", "-i", "3", "--threads", "0"], "--threads must be a finite number >= 1"),
        (["eval", "iit", "-i", "3", "--n-examples", "1"], "--n-examples must be a finite number >= 2"),
        (["train", "algzoo", "--task", "2nd_argmax", "--hidden", "0"], "--hidden must be a finite number >= 1"),
        (["eval", "estimation", "--noise", "-1"], "--noise must be a finite number >= 0"),
        (["run", "acdc", "-i", "ioi", "--tracr"], "ioi has no compiled model"),
        (["cases", "show", "-i", "ioi"], "'ioi' is not a tracr case id"),
        (["train", "ioi", "--epochs", "0"], "need --epochs >= 1"),
        (["eval", "ioi_acdc", "--threshold", "-1"], "--threshold must be a finite number >= 0"),
        (["run", "acdc", "--model", "siit:iox"], "no SIIT task 'iox'"),
        (["train", "iit", "-i", "3,nonexistent"], "no task 'nonexistent': use tracr case ids"),
    ],
)
def test_bad_input_is_one_line_and_nonzero(args: list[str], message: str, tmp_path: Path, cli) -> None:
    result = cli(*args, "-o", str(tmp_path))
    assert result.exit_code == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert len([line for line in result.stderr.splitlines() if line.startswith("error:")]) == 1
    assert not list(tmp_path.glob("*/case-*"))  # no run started


def test_unwritable_output_dir_is_one_line(tmp_path: Path, cli_process) -> None:
    """Through the real entry point: a process that exits with status 2 and one error line."""
    blocker = tmp_path / "file"
    blocker.write_text("")
    result = cli_process("cases", "compile", "-i", "3", "-o", str(blocker))
    assert result.exit_code == 2 and "Traceback" not in result.stderr and "error:" in result.stderr


def test_list_show_draw_and_verify(tmp_path: Path, cli) -> None:
    listed = cli("cases", "list", "-i", "3,13", "-o", str(tmp_path))
    assert listed.exit_code == 0, listed.stderr
    assert "not verified" in listed.stdout and "13" in listed.stdout
    verified = cli("cases", "verify", "-i", "3", "-o", str(tmp_path))
    assert verified.exit_code == 0 and "1 of 1 cases pass" in verified.stdout
    assert "ok" in cli("cases", "list", "-i", "3", "-o", str(tmp_path)).stdout
    picture = tmp_path / "gt.png"
    shown = cli("cases", "show", "-i", "3", "--draw", str(picture), "-o", str(tmp_path))
    assert shown.exit_code == 0, shown.stderr
    assert "a1.h0.v" in shown.stdout and "output" in shown.stdout
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_main_py_runs_with_another_python_by_handing_itself_to_the_project_s() -> None:
    """`./main.py ...` right after set-up, in a shell without the environment activated: the base
    interpreter (which lacks the project's packages) hands over to .venv/bin/python."""
    base_python = Path(sys.base_prefix) / "bin" / "python3"
    if not (ROOT / ".venv" / "bin" / "python").exists() or not base_python.exists():
        pytest.skip("needs the set-up .venv and its base interpreter")
    env = {"PATH": "/usr/bin:/bin", "COLUMNS": "200"}
    result = subprocess.run([str(base_python), str(ROOT / "main.py"), "cases", "show", "-i", "3"], capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr
    assert "case 3" in result.stdout.lower()
