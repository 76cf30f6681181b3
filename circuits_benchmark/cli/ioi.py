"""IOI's own commands, as InterpBench names them: `train ioi`, `eval ioi`, `eval ioi_acdc` (thin).
They are `train iit -i ioi` and `eval iit_acdc -i ioi` under IOI's names, and IOI's evaluation."""

from __future__ import annotations

import inspect
import typing
from typing import Any, Callable

from rich.console import Console

from circuits_benchmark.choices import Ablation
from circuits_benchmark.cli.acdc_comparison import Examples as AcdcExamples
from circuits_benchmark.cli.acdc_comparison import Threshold, compare
from circuits_benchmark.cli.options import DEFAULT_OUTPUT_DIR, OutputDir, Seed, Weights, case_model_id, check_number
from circuits_benchmark.cli.siit import Examples, train_iit
from circuits_benchmark.cli.tables import titled_table

console = Console()
IOI = "ioi"


def _train_ioi(**options: Any) -> None:
    """Train a fresh 6-layer transformer to implement the simplified IOI circuit (SIIT); the model is
    `siit:ioi`. The same as `train iit -i ioi`: IOI's recipe for every flag left out."""
    train_iit(indices=IOI, jobs=1, **options)


def _with_parameters_of(wrapper: Callable[..., None], function: Callable[..., None], dropped: tuple[str, ...]) -> Callable[..., None]:
    """`wrapper`, showing Typer the parameters (and resolved annotations) of `function` but `dropped`."""
    hints = typing.get_type_hints(function, include_extras=True)
    kept = [p.replace(annotation=hints[p.name]) for p in inspect.signature(function).parameters.values() if p.name not in dropped]
    wrapper.__signature__ = inspect.Signature(kept, return_annotation=None)  # type: ignore[attr-defined]
    wrapper.__annotations__ = {p.name: p.annotation for p in kept}
    return wrapper


# `train ioi` shows and takes exactly the flags of `train iit`, but -i and --jobs.
train_ioi = _with_parameters_of(_train_ioi, train_iit, ("indices", "jobs"))


def eval_ioi_acdc(
    weights: Weights = None,
    threshold: Threshold = 0.025,
    n_examples: AcdcExamples = 100,
    seed: Seed = 42,
    output_dir: OutputDir = DEFAULT_OUTPUT_DIR,
) -> None:
    """ACDC on the IOI model: its circuit against the ground truth, edge by edge, drawn side by side."""
    compare("ioi_acdc", [case_model_id(IOI, weights, False)], threshold, n_examples, seed, output_dir)


def eval_ioi(
    weights: Weights = None,
    n_examples: Examples = 500,
    seed: Seed = 0,
    output_dir: OutputDir = DEFAULT_OUTPUT_DIR,
) -> None:
    """The IOI model on held-out sentences: accuracy, logit difference IO - S (per template and order),
    and each head's and MLP's ablation effect on both."""
    from circuits_benchmark.ioi.evaluation import ioi_report

    check_number("--n-examples", n_examples, minimum=2)
    report = ioi_report(case_model_id(IOI, weights, False), output_dir, n_examples, seed)
    held_out = report["held_out"]
    console.print(
        f"[bold]{report['model_id']}[/bold] on {n_examples} held-out sentences: accuracy {100 * held_out['accuracy']:.1f}%, "
        f"logit difference {held_out['logit_difference']:.2f}"
    )
    rows = [[group, str(v["sentences"]), f"{100 * v['accuracy']:.1f}%", f"{v['logit_difference']:.2f}"] for group, v in report["by_template"].items()]
    console.print(titled_table("held-out templates", "template", "sentences", "accuracy", "logit diff", rows=rows))
    effects = [
        [row["node"], "yes" if row["in_circuit"] else "",
         *(f"{100 * row[a]['accuracy']:.1f}% / {row[a]['logit_difference']:.2f}" for a in (Ablation.RESAMPLE, Ablation.MEAN))]
        for row in report["node_effects"]
    ]
    console.print(titled_table("each node ablated: accuracy / logit difference left", "node", "circuit", "resample", "mean", rows=effects))
    console.print(f"written to {report['result_dir']}")
