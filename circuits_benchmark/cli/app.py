"""The root command. Sub-apps import their heavy dependencies inside commands, so --help stays fast."""

from __future__ import annotations

import sys

import typer

from circuits_benchmark.cli import bench, cases, eval, leaderboard, release, results, run, train

app = typer.Typer(
    help="circuits-benchmark: known-circuit transformers and circuit-discovery methods scored against them.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(cases.app, name="cases")
app.add_typer(run.app, name="run")
app.add_typer(train.app, name="train")
app.add_typer(eval.app, name="eval")
app.command("bench")(bench.bench)
app.add_typer(results.app, name="results")
app.add_typer(leaderboard.app, name="leaderboard")
app.add_typer(release.app, name="release")


def main() -> None:
    """Entry point: runs the CLI; a BenchmarkError becomes one line on stderr and exit code 2."""
    from circuits_benchmark.errors import BenchmarkError

    try:
        app()
    except BenchmarkError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)
