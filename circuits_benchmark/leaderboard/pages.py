"""Writes the leaderboard: `results/leaderboard.md` and the static page `results/leaderboard.html`.

Both are built from the results store alone, so `./main.py leaderboard` can rebuild them at any
time (the bench and a submission call it when they finish).
"""

from __future__ import annotations

from pathlib import Path

from circuits_benchmark.leaderboard.html import render_html
from circuits_benchmark.leaderboard.markdown import render_markdown
from circuits_benchmark.leaderboard.summary import Leaderboard, build_leaderboard
from circuits_benchmark.storage.files import atomic_write_bytes
from circuits_benchmark.storage.results_db import ResultsStore

MARKDOWN_FILE = "leaderboard.md"
HTML_FILE = "leaderboard.html"


def write_leaderboard(output_dir: Path) -> tuple[Leaderboard, list[Path]]:
    """Reads the store under `output_dir` and writes both pages atomically; returns the leaderboard
    and the paths written."""
    with ResultsStore(output_dir) as store:
        board = build_leaderboard(store.runs(), str(store.path), store.scope())
    written = []
    for name, text in ((MARKDOWN_FILE, render_markdown(board)), (HTML_FILE, render_html(board))):
        atomic_write_bytes(output_dir / name, text.encode())
        written.append(output_dir / name)
    return board, written
