"""The root command. Sub-apps import their heavy dependencies inside commands, so --help stays fast.

The app is built on first use, after plug-ins are loaded (`--plugin`, see `circuits_benchmark.plugins`),
so that a plug-in's methods get their own `run` commands.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

_app: typer.Typer | None = None


def build_app() -> typer.Typer:
    """The whole command tree, from the registries as they are now."""
    from circuits_benchmark.cli import analyses, bench, cases, eval, leaderboard, release, results, run, train

    app = typer.Typer(
        help="circuits-benchmark: known-circuit transformers and circuit-discovery methods scored against them.",
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        add_completion=False,
    )

    @app.callback()
    def root(
        plugin: Annotated[
            Optional[list[str]],
            typer.Option("--plugin", help="A module or .py file that registers methods, metrics or cases (repeatable; loaded first)."),
        ] = None,
    ) -> None:
        """circuits-benchmark: known-circuit transformers and circuit-discovery methods scored against them."""

    app.add_typer(cases.app, name="cases")
    app.add_typer(run.app, name="run")
    app.add_typer(train.app, name="train")
    app.add_typer(eval.app, name="eval")
    app.command("bench")(bench.bench)
    app.command("report")(analyses.report)
    app.add_typer(results.app, name="results")
    app.add_typer(leaderboard.app, name="leaderboard")
    app.add_typer(release.app, name="release")
    return app


def __getattr__(name: str) -> typer.Typer:
    """`from circuits_benchmark.cli.app import app`: the command tree, built once."""
    global _app
    if name != "app":
        raise AttributeError(name)
    if _app is None:
        _app = build_app()
    return _app


def main() -> None:
    """Entry point: loads plug-ins, runs the CLI; a BenchmarkError becomes one line on stderr and exit code 2."""
    from circuits_benchmark.errors import BenchmarkError
    from circuits_benchmark.plugins import load_environment_plugins, load_plugins, plugin_arguments

    try:
        specs, arguments = plugin_arguments(sys.argv[1:])
        load_environment_plugins()
        load_plugins(specs)
        build_app()(arguments, prog_name=Path(sys.argv[0]).name)
    except BenchmarkError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)
