"""`./main.py leaderboard [submit FILE]`: write the leaderboard pages from the results store, or score
an external method's edge scores into it."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from circuits_benchmark.cli.options import DEFAULT_OUTPUT_DIR, OutputDir

if TYPE_CHECKING:
    from circuits_benchmark.leaderboard.summary import Leaderboard

app = typer.Typer(
    help="Write results/leaderboard.md and results/leaderboard.html from the results store; `submit FILE` scores external edge scores.",
    invoke_without_command=True,
)
console = Console(width=200) if not sys.stdout.isatty() else Console()


@app.callback()
def leaderboard(ctx: typer.Context, output_dir: OutputDir = DEFAULT_OUTPUT_DIR) -> None:
    """Write the leaderboard (Markdown and a static HTML page) from every stored run."""
    if ctx.invoked_subcommand is not None:
        return
    from circuits_benchmark.leaderboard.pages import write_leaderboard

    show_rankings(*write_leaderboard(output_dir))


@app.command("submit")
def submit(
    file: Annotated[Path, typer.Argument(help="Edge scores as JSON (format: circuits_benchmark/leaderboard/submission.py, README).")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Check and score the file, print the scores, store nothing.")] = False,
    output_dir: OutputDir = DEFAULT_OUTPUT_DIR,
) -> None:
    """Score a method's edge scores against the ground truth, store them like any run, rewrite the leaderboard."""
    from circuits_benchmark.formatting import format_number
    from circuits_benchmark.leaderboard.submission import submit as submit_file

    for record in submit_file(file, output_dir, store=not dry_run):
        m = record.metrics
        console.print(
            f"{record.label} on {record.model_id}: edge AUROC {format_number(m['edge_auroc'], 3)}, node AUROC {format_number(m['node_auroc'], 3)}, "
            f"CPR {format_number(m['cpr'], 3)}, CMD {format_number(m['cmd'], 3)}" + ("" if dry_run else f"  (run {record.run_id})"),
            highlight=False,
        )
    if dry_run:
        console.print("dry run: nothing stored", highlight=False)
    else:
        console.print(f"leaderboard: {output_dir / 'leaderboard.md'}, {output_dir / 'leaderboard.html'}", highlight=False)


def show_rankings(board: "Leaderboard", pages: list[Path]) -> None:
    """Prints each section's ranking table and where the pages were written."""
    from circuits_benchmark.leaderboard.markdown import ranking_markdown

    for section in board.sections:
        console.print(f"\n{section.title}\n" + "\n".join(ranking_markdown(section)), highlight=False)
    if not board.sections:
        console.print("no finished results yet: run ./main.py bench", highlight=False)
    console.print("\nleaderboard: " + ", ".join(str(path) for path in pages), highlight=False)
