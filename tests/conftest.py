"""Shared fixtures: one compile cache per test session (per xdist worker)."""

from __future__ import annotations

from pathlib import Path

import pytest


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
    import subprocess

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
