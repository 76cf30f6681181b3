"""`./main.py train ...`: train models (SIIT on tracr cases, AlgZoo tiny models)."""

from __future__ import annotations

import typer

from circuits_benchmark.cli import algzoo, ioi, siit

app = typer.Typer(help="Train models: iit (SIIT on a tracr case), ioi (SIIT on IOI), algzoo (tiny models).", no_args_is_help=True)
app.command("algzoo")(algzoo.train_algzoo)
app.command("iit")(siit.train_iit)
app.command("ioi")(ioi.train_ioi)
