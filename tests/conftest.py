"""Shared fixtures: one compile cache per test session (per xdist worker), and the command line
run in this process (`cli`) or in a process of its own (`cli_process`)."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable
from unittest import mock

import pytest
from click.testing import CliRunner

from circuits_benchmark.plugins import PLUGINS_VARIABLE

MAIN = Path(__file__).resolve().parents[1] / "main.py"
# What every command line sees in the tests: a wide terminal, so that tables are not wrapped, and
# no plug-ins inherited from a parent process.
CLI_ENVIRONMENT: dict[str, str | None] = {"COLUMNS": "200", PLUGINS_VARIABLE: None}


@dataclass(frozen=True)
class CliRun:
    """What one `./main.py ...` printed, and its exit status."""

    exit_code: int
    stdout: str
    stderr: str


def run_in_process(*args: str) -> CliRun:
    """`./main.py ARGS` in this process, through the entry point itself (`cli.app.main`): `--plugin`
    split off and loaded, the command tree built afresh, a BenchmarkError turned into one `error:`
    line and exit status 2. Any other exception propagates, with its traceback, and fails the test.

    A plug-in that registers a case, method or metric would stay registered in this process (and be
    handed to every later bench worker): such runs belong in `cli_process`; this refuses them.
    """
    import torch

    from circuits_benchmark.cli.app import main

    threads = torch.get_num_threads()  # some commands set their own; later tests must not inherit it
    with CliRunner().isolation(env=CLI_ENVIRONMENT) as (stdout, stderr, _), mock.patch.object(sys, "argv", [str(MAIN), *args]):
        try:
            main()
            exit_code = 0
        except SystemExit as exit:
            exit_code = _exit_status(exit.code)
        finally:
            torch.set_num_threads(threads)
            sys.stdout.flush()  # the captured streams are buffered text wrappers
            sys.stderr.flush()
        loaded = os.environ.get(PLUGINS_VARIABLE)
    assert not loaded, f"plug-ins {loaded} are now registered in the test process: run them with the cli_process fixture"
    return CliRun(exit_code, stdout.getvalue().decode(), stderr.getvalue().decode())


def run_in_subprocess(*args: str) -> CliRun:
    """`./main.py ARGS` in a process of its own: for what only a real process shows (import weight,
    plug-ins that register things, signals, processes running side by side)."""
    environment = {**os.environ, **{key: value for key, value in CLI_ENVIRONMENT.items() if value is not None}}
    environment.pop(PLUGINS_VARIABLE, None)
    done = subprocess.run([sys.executable, str(MAIN), *args], capture_output=True, text=True, env=environment)
    return CliRun(done.returncode, done.stdout, done.stderr)


def _exit_status(code: object) -> int:
    """The status a process would exit with after `sys.exit(code)`."""
    if code is None:
        return 0
    return code if isinstance(code, int) else 1


@pytest.fixture
def cli() -> Callable[..., CliRun]:
    """`cli("cases", "list", "-i", "3")`: the command line in this process (see `run_in_process`)."""
    return run_in_process


@pytest.fixture
def cli_process() -> Callable[..., CliRun]:
    """`cli_process("cases", "list")`: the command line in a process of its own (see `run_in_subprocess`)."""
    return run_in_subprocess


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh compile cache, so tests exercise compilation and never read a developer's cache."""
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="session", autouse=True)
def one_torch_thread() -> None:
    """Two xdist workers on two cores: one thread each avoids oversubscription on tiny models."""
    import torch

    torch.set_num_threads(1)


@pytest.fixture(scope="session")
def bench_with_leaderboard(tmp_path_factory: pytest.TempPathFactory):
    """request, name -> a fresh output folder holding that bench and its leaderboard."""
    from circuits_benchmark.bench import run_bench
    from circuits_benchmark.leaderboard.pages import write_leaderboard

    def bench(request, name: str) -> Path:
        output_dir = tmp_path_factory.mktemp(name)
        run_bench(request, output_dir)
        write_leaderboard(output_dir)
        return output_dir

    return bench


@pytest.fixture(scope="session")
def chromium_dom():
    """page, fragment, profile folder -> the page's DOM after its scripts ran, from headless Chromium."""
    import shutil

    browser = shutil.which("chromium")
    if browser is None:
        pytest.skip("chromium is not installed (bash scripts/setup.sh installs Debian's chromium)")

    def dump(page: Path, fragment: str, profile: Path) -> str:
        command = [
            browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={profile}", "--dump-dom",
            f"{page.as_uri()}#{fragment}",
        ]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr[-2000:]
        return done.stdout

    return dump


@pytest.fixture(scope="session")
def shown_whole_at_80():
    """table, cells -> the table as rich renders it in an 80-column terminal, after asserting that
    nothing is cut short ("…") and that every word of every given cell appears whole."""
    import io
    import re

    from rich.console import Console

    def render(table, cells: list[str]) -> str:
        console = Console(width=80, file=io.StringIO(), color_system=None)
        console.print(table)
        text = console.file.getvalue()
        assert "…" not in text, text
        assert max(len(line) for line in text.splitlines()) <= 80
        for word in {word for cell in cells for word in cell.split()}:
            assert re.search(rf"(?<![^\s│┃]){re.escape(word)}(?![^\s│┃])", text), (word, text)
        return text

    return render
