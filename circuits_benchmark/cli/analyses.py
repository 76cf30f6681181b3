"""`./main.py eval probe`, `eval attention`, `eval layers` and `report`: everyday interpretability
analyses of one model, scored against its known computation, and the page that gathers them."""

from __future__ import annotations

from typing import Annotated, Any, Callable, Optional

import typer
from rich.console import Console

from circuits_benchmark.cli.options import DEFAULT_OUTPUT_DIR, Indices, OutputDir, Seed, Tracr, Weights, check_number, selected_model_ids
from circuits_benchmark.cli.tables import titled_table
from circuits_benchmark.lazy_import import resolve

console = Console()

Model = Annotated[
    Optional[str],
    typer.Option("--model", help="Any model id (overrides -i), e.g. siit:3:release, algzoo:..., or file:PATH for a saved HookedTransformer."),
]
Examples = Annotated[int, typer.Option("--n-examples", help="Inputs analysed.")]


def _command(analysis: str, show: Callable[[Any], None], summary: str) -> Callable[..., None]:
    """A command that runs `analysis` ("module:function" of `circuits_benchmark.analyses`, imported
    when the command runs) on each selected model and shows what it returns."""

    def command(
        indices: Indices = None, weights: Weights = None, tracr: Tracr = False, model: Model = None,
        n_examples: Examples = 500, seed: Seed = 0, output_dir: OutputDir = DEFAULT_OUTPUT_DIR,
    ) -> None:
        check_number("--n-examples", n_examples, minimum=4)
        run = resolve(analysis, "circuits_benchmark.analyses")
        for model_id in selected_model_ids(indices, weights, tracr, model):
            show(run(model_id, output_dir, n_examples, seed))

    command.__doc__ = summary
    return command


def _show_probes(report: dict[str, Any]) -> None:
    rows = [
        [row["variable"], ", ".join(row["writers"]), row["known_location"], row["claimed_location"] or "nowhere",
         row["claimed_writer"] or "none",
         f"{_yes(row['location_right'])} / {_yes(row['writer_right'])}" if report["scored"] else "n/a"]
        for row in report["variables"]
    ]
    console.print(titled_table(f"{report['model_id']}: where probing places each variable", "variable", "written by",
                               "known location", "first decodable", "best component", "right", rows=rows))
    summary = report["summary"]
    if report["scored"] and summary["location_right"] is not None:
        console.print(f"location right for {100 * summary['location_right']:.0f}% of variables, "
                      f"writer right for {100 * summary['writer_right']:.0f}%")
    console.print(f"written to {report['result_dir']}")


def _show_roles(report: dict[str, Any]) -> None:
    rows = [
        [row["head"], row["role"], f"{row['score']:.2f}", row["known_role"] or "", row["selector"] or "",
         "" if row["right"] is None else _yes(row["right"])]
        for row in report["heads"]
    ]
    console.print(titled_table(f"{report['model_id']}: attention roles", "head", "label from patterns", "score",
                               "known role", "selector", "right", rows=rows))
    summary = report["summary"]
    if summary["right"] is not None:
        console.print(f"{100 * summary['right']:.0f}% of the {summary['heads_with_truth']} heads with a known selector labelled rightly")
    console.print(f"written to {report['result_dir']}")


def _show_corruptions(report: dict[str, Any]) -> None:
    layers = report["circuit_layers"]
    rows = [
        [row["corruption"], " ".join(map(str, row["order"])), f"{100 * row['changed_fraction']:.2f}%",
         {True: "change", False: "no change", None: ""}[row["predicted_change"]], "" if row["agrees"] is None else _yes(row["agrees"])]
        for row in report["corruptions"]
    ]
    where = "no known circuit" if layers is None else f"circuit in layers {layers}"
    console.print(titled_table(f"{report['model_id']}: layer corruptions ({where})", "corruption", "layers run",
                               "positions changed", "circuit predicts", "agrees", rows=rows))
    if report["agreement"] is not None:
        console.print(f"agreement with the circuit: {100 * report['agreement']:.0f}%")
    console.print(f"written to {report['result_dir']}")


eval_probe = _command(
    "model_analyses:probe_report", _show_probes,
    "Linear probes (with shuffled-label controls) for every known variable at every residual location and component "
    "output: is each first decodable where it is written, and best read from its writer?",
)
eval_attention = _command(
    "model_analyses:attention_report", _show_roles,
    "Label every head's role from its attention patterns (previous token, BOS, same token, uniform, ...) and compare "
    "it with the role of the selector the head is known to implement.",
)
eval_layers = _command(
    "model_analyses:layers_report", _show_corruptions,
    "Skip, repeat, swap and reverse layers; does each change the outputs exactly where the known circuit says it must?",
)
report = _command(
    "model_report:write_model_report", lambda path: console.print(f"report written to {path}"),
    "One offline HTML page per model: its circuit, discovery results from the store, probing, attention roles and "
    "layer corruption.",
)


def _yes(value: Any) -> str:
    return "yes" if value else "NO"
