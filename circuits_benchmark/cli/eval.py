"""`./main.py eval ...`: evaluate trained models and circuits."""

from __future__ import annotations

import typer

from circuits_benchmark.cli import acdc_comparison, algzoo, analyses, ioi, siit

app = typer.Typer(help="Evaluate models and circuits.", no_args_is_help=True)
app.command("algzoo")(algzoo.eval_algzoo)
app.command("estimation")(algzoo.eval_estimation)
app.command("iit")(siit.eval_iit)
app.command("ioi")(ioi.eval_ioi)
app.command("iit_acdc")(acdc_comparison.eval_iit_acdc)
app.command("ioi_acdc")(ioi.eval_ioi_acdc)
app.command("layers")(analyses.eval_layers)
app.command("probe")(analyses.eval_probe)
app.command("attention")(analyses.eval_attention)
app.command("node_realism")(siit.eval_node_realism)
app.command("realism")(siit.eval_realism)
# InterpBench's name for the ground-truth form: the same command, used without --result.
app.command("gt_node_realism")(siit.eval_node_realism)
