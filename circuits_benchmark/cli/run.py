"""`./main.py run <method> ...`: run a circuit-discovery method and score it against the ground truth.

One command per registered method (generated from the registry) plus `run all`.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer
from rich.console import Console

from circuits_benchmark.cli.options import (
    DEFAULT_OUTPUT_DIR,
    AblationOption,
    Device,
    Indices,
    InterpBench,
    OutputDir,
    Seed,
    Weights,
    resolve_device,
    selected_model_ids,
)
from circuits_benchmark.cli.progress import progress_bar
from circuits_benchmark.discovery.methods import METHODS
from circuits_benchmark.discovery.metric_registry import METRICS
from circuits_benchmark.discovery.settings import DEFAULT_SETTINGS, setting_help
from circuits_benchmark.formatting import format_number

if TYPE_CHECKING:
    from circuits_benchmark.runs import RunResult

app = typer.Typer(help="Run circuit-discovery methods on models with known circuits.", no_args_is_help=True)
console = Console(width=200) if not sys.stdout.isatty() else Console()

Tracr = Annotated[bool, typer.Option("--tracr", help="Use the tracr-compiled models (default: SIIT-trained ones).")]
Model = Annotated[Optional[str], typer.Option("--model", help="Any model id, e.g. algzoo:longest_cycle:transformer:h4:n4 (overrides -i).")]
Threshold = Annotated[float, typer.Option("--threshold", help=setting_help("threshold"))]
Metric = Annotated[Optional[str], typer.Option("--metric", help=f"{', '.join(METRICS)} or a plug-in's (default: kl for categorical, l2 for numerical outputs).")]
LambdaReg = Annotated[float, typer.Option("--lambda-reg", help=setting_help("lambda_reg"))]
Edgewise = Annotated[bool, typer.Option("--edgewise", help=setting_help("edgewise"))]
IgSteps = Annotated[Optional[int], typer.Option("--integrated-grad-steps", help=setting_help("integrated_grad_steps"))]
Epochs = Annotated[int, typer.Option("--epochs", help=setting_help("epochs"))]
Sparsity = Annotated[float, typer.Option("--sparsity", help=setting_help("sparsity"))]
Samples = Annotated[int, typer.Option("--samples", help=setting_help("samples"))]
Budget = Annotated[Optional[int], typer.Option("--budget", help=setting_help("budget"))]
Sweep = Annotated[bool, typer.Option("--sweep", help="Run the whole threshold sweep for the ROC.")]
Examples = Annotated[int, typer.Option("--n-examples", help="Clean (and as many corrupted) inputs.")]
CorruptionOption = Annotated[
    str,
    typer.Option(
        "--corruption",
        help="How corrupted inputs are made: independent (a second draw from the task's inputs), or one the model offers "
        "(IOI: abc, each clean sentence with S2 replaced by a third name).",
    ),
]
Pairs = Annotated[
    Optional[Path],
    typer.Option(
        "--pairs",
        help='Your own inputs instead: a JSON file whose "clean" and "corrupted" lists hold token sequences in the '
        "model's vocabulary (BOS is added); --n-examples is then their count (README: \"Your own pairs, other corruptions\").",
    ),
]
ModelsDir = Annotated[Optional[Path], typer.Option("--models-dir", help="Where models are read from (compile cache, trained models); default: --output-dir.")]


def _run(methods: list[str], ids: list[str], options: dict, output_dir: Path, models_dir: Path, seed: int, device: str) -> None:
    import torch

    from circuits_benchmark.discovery.settings import MethodSettings
    from circuits_benchmark.models.registry import load_benchmark_model
    from circuits_benchmark.runs import RunConfig, run_discovery, user_pairs

    resolve_device(device)
    torch.set_num_threads(1)  # these models are tiny: one thread beats two fighting over small matrices
    sweep, ablation, metric, n_examples, corruption, pairs_file = (
        options.pop(k) for k in ("sweep", "ablation", "metric", "n_examples", "corruption", "pairs")
    )
    settings = MethodSettings(**options)
    # A file of pairs is read once per model: each model's tokenizer checks it.
    pairs = {model_id: None if pairs_file is None else user_pairs(model_id, models_dir, pairs_file) for model_id in ids}
    configs = [
        RunConfig(method, model_id, settings, ablation, metric, sweep, n_examples, seed, device, corruption, pairs[model_id])
        for model_id in ids
        for method in methods
    ]
    for config in configs:
        config.validate()  # bad options fail before any work starts
    for model_id in ids:
        # So do a missing model and a corruption it does not offer, before the first run.
        load_benchmark_model(model_id, models_dir).check_corruption(corruption)
    with progress_bar("discovery runs", len(configs)) as advance:
        for config in configs:
            result = run_discovery(config, output_dir, models_dir=models_dir)
            _report(result)
            advance(1)


def _report(result: RunResult) -> None:
    line = f"{result.method:>9} {result.model_id:<12}"
    evaluation = result.evaluation
    if evaluation:
        edges = evaluation.at_threshold["edges"]
        line += f" edges TP {edges.tp} FP {edges.fp} FN {edges.fn} (TPR {format_number(edges.tpr, 3)}, FPR {format_number(edges.fpr, 3)})"
        line += (
            f"  AUROC q/k/v edges {format_number(evaluation.edge_auroc, 3)} components {format_number(evaluation.component_edge_auroc, 3)}"
            f" nodes {format_number(evaluation.node_auroc, 3)} [{evaluation.roc_source}]"
        )
    line += f"  CPR {format_number(result.faithfulness.cpr, 3)}  {result.wall_time_s:.2f}s  -> {result.result_dir}"
    console.print(line, highlight=False)


def _make_command(method_names: list[str]):  # noqa: ANN202 - Typer reads the signature
    def command(
        indices: Indices = None,
        tracr: Tracr = False,
        weights: Weights = None,
        interp_bench: InterpBench = False,
        model: Model = None,
        threshold: Threshold = DEFAULT_SETTINGS.threshold,
        ablation: AblationOption = "resample",
        metric: Metric = None,
        lambda_reg: LambdaReg = DEFAULT_SETTINGS.lambda_reg,
        edgewise: Edgewise = DEFAULT_SETTINGS.edgewise,
        integrated_grad_steps: IgSteps = None,
        epochs: Epochs = DEFAULT_SETTINGS.epochs,
        sparsity: Sparsity = DEFAULT_SETTINGS.sparsity,
        samples: Samples = DEFAULT_SETTINGS.samples,
        budget: Budget = None,
        sweep: Sweep = False,
        n_examples: Examples = 100,
        corruption: CorruptionOption = "independent",
        pairs: Pairs = None,
        output_dir: OutputDir = DEFAULT_OUTPUT_DIR,
        models_dir: ModelsDir = None,
        device: Device = "cpu",
        seed: Seed = 42,
    ) -> None:
        if integrated_grad_steps is not None and integrated_grad_steps < 1:
            from circuits_benchmark.errors import BenchmarkError

            raise BenchmarkError(f"--integrated-grad-steps must be at least 1 (leave it out for the method's default), not {integrated_grad_steps}")
        steps = DEFAULT_SETTINGS.integrated_grad_steps if integrated_grad_steps is None else integrated_grad_steps
        options = dict(
            threshold=threshold, lambda_reg=lambda_reg, edgewise=edgewise, integrated_grad_steps=steps,
            epochs=epochs, sparsity=sparsity, samples=samples, budget=budget, sweep=sweep, ablation=ablation, metric=metric, n_examples=n_examples,
            corruption=corruption, pairs=pairs,
        )
        _run(method_names, selected_model_ids(indices, weights, tracr, model, interp_bench), options, output_dir, models_dir or output_dir, seed, device)

    return command


for _name, _method in METHODS.items():
    app.command(_name, help=_method.description)(_make_command([_name]))
app.command("all", help="Every method, one after the other (add --sweep for every ROC).")(_make_command(list(METHODS)))
