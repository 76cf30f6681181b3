"""`./main.py train algzoo`, `eval algzoo`, `eval estimation`: AlgZoo-style tiny models (thin wrappers)."""

from __future__ import annotations

from typing import Annotated, Optional

import typer
from rich.console import Console

from circuits_benchmark.cli.options import DEFAULT_OUTPUT_DIR, Device, OutputDir, Seed, check_number, resolve_device
from circuits_benchmark.cli.progress import progress_bar
from circuits_benchmark.cli.tables import titled_table

console = Console()


def train_algzoo(
    task: Annotated[Optional[str], typer.Option("--task", help="2nd_argmax, argmedian, median, longest_cycle, argmax, argoutlier.")] = None,
    arch: Annotated[Optional[str], typer.Option("--arch", help="rnn or transformer (default: the task's).")] = None,
    hidden: Annotated[Optional[int], typer.Option("--hidden", help="Hidden size h.")] = None,
    seq_len: Annotated[Optional[int], typer.Option("--seq-len", help="Sequence length n.")] = None,
    zoo: Annotated[bool, typer.Option("--zoo", help="Train the whole grid of --tasks.")] = False,
    tasks: Annotated[Optional[str], typer.Option("--tasks", help="With --zoo: comma-separated tasks (default: the 4 with released models).")] = None,
    seeds: Annotated[int, typer.Option("--seeds", help="With --zoo: runs per cell (seeds 0..N-1).")] = 1,
    steps: Annotated[Optional[int], typer.Option("--steps", help="Step budget (default 4096: the grid's documented budget).")] = None,
    candidates: Annotated[Optional[int], typer.Option("--candidates", help="Initialisations screened per model.")] = None,
    keep: Annotated[Optional[int], typer.Option("--keep", help="Screened candidates trained to the end per model.")] = None,
    lr_scale: Annotated[Optional[float], typer.Option("--lr-scale", help="Peak lr over the published 0.04/sqrt(h).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Retrain models already trained with this recipe.")] = False,
    threads: Annotated[int, typer.Option("--threads", help="CPU threads for torch.")] = 1,
    seed: Seed = 0,
    output_dir: OutputDir = DEFAULT_OUTPUT_DIR,
    device: Device = "cpu",
) -> None:
    """Train one AlgZoo-style model, or with --zoo the grid; resumes from checkpoints."""
    from circuits_benchmark.algzoo.training import plan_training, recipe_with, run_training, specs_to_train

    for flag, value in (("--hidden", hidden), ("--seq-len", seq_len), ("--seeds", seeds), ("--steps", steps),
                        ("--candidates", candidates), ("--keep", keep), ("--threads", threads)):
        check_number(flag, value, minimum=1)
    check_number("--lr-scale", lr_scale, above=0)
    specs = specs_to_train(zoo, tasks, seeds, task, arch, hidden, seq_len, seed)
    recipe = recipe_with(steps=steps, candidates=candidates, keep=keep, lr_scale=lr_scale)
    plan = plan_training(specs, recipe, output_dir, force)
    with progress_bar(f"training {len(specs) - len(plan.done)} models in {len(plan.jobs)} stacks", plan.total_steps) as advance:
        models = run_training(plan, output_dir, advance, resolve_device(device), threads)
    table = titled_table(f"AlgZoo models in {output_dir}/algzoo ({recipe.steps:,} steps, batch {recipe.batch_size})",
                         "model", "parameters", "validation", "train s")
    for model in models:
        validation = model.record["validation"]
        value = f"{100 * validation['value']:.2f}%" if validation["metric"] == "accuracy" else f"RMSE {validation['value']:.4f}"
        table.add_row(model.spec.name, str(model.parameter_count()), value, f"{model.record['seconds']:.0f}")
    console.print(table)


def eval_algzoo(
    samples: Annotated[int, typer.Option("--samples", help="Fresh samples per model.")] = 2**20,
    seed: Seed = 0,
    output_dir: OutputDir = DEFAULT_OUTPUT_DIR,
) -> None:
    """Score every stored AlgZoo model against the published grid; tables and a heatmap PNG."""
    from circuits_benchmark.algzoo.scoring import draw_heatmap, evaluate_zoo, evaluation_specs, grid_tables, other_table
    from circuits_benchmark.algzoo.models import zoo_dir

    check_number("--samples", samples, minimum=1)
    with progress_bar("scoring AlgZoo models", len(evaluation_specs(output_dir))) as advance:
        results = evaluate_zoo(output_dir, samples, seed, advance)
    tables = grid_tables(results, samples)
    if not tables:
        console.print(f"no trained grid models in {zoo_dir(output_dir)}: train them with ./main.py train algzoo --zoo")
    for table in [*tables, other_table(results)]:
        if table is not None:
            console.print(titled_table(table.title, *table.columns, rows=table.rows))
    if tables:
        console.print(f"heatmap: {draw_heatmap(results, zoo_dir(output_dir) / 'accuracy.png')}")


def eval_estimation(
    model: Annotated[str, typer.Option("--model", help="algzoo:<task>:<arch>:h<h>:n<n>[:s<seed>|:handbuilt]")] = "algzoo:2nd_argmax:rnn:h4:n3",
    estimators: Annotated[str, typer.Option("--estimators", help="Comma-separated: sampling, last-input, quadrature, enumeration.")] = "sampling,last-input,quadrature,enumeration",
    budgets: Annotated[str, typer.Option("--budgets", help="Comma-separated budgets in forward passes.")] = "100,1000,10000",
    noise: Annotated[float, typer.Option("--noise", help="Weight noise, relative to each tensor's RMS.")] = 0.03,
    noisy_models: Annotated[int, typer.Option("--noisy-models", help="Noisy copies averaged over.")] = 16,
    truth_samples: Annotated[int, typer.Option("--truth-samples", help="Samples measuring each true accuracy.")] = 2**22,
    seed: Seed = 0,
    output_dir: OutputDir = DEFAULT_OUTPUT_DIR,
) -> None:
    """The accuracy-estimation challenge: each estimator's MSE against compute, beside sampling's."""
    from circuits_benchmark.algzoo.estimation import run_study

    check_number("--noise", noise, minimum=0)
    check_number("--noisy-models", noisy_models, minimum=1)
    check_number("--truth-samples", truth_samples, minimum=1)
    with progress_bar("noisy models", noisy_models) as advance:
        study, paths = run_study(model, estimators, budgets, noise, noisy_models, truth_samples, seed, output_dir, advance)
    accuracies = study.true_accuracies
    title = (
        f"{study.model}: weight noise {noise}, {len(accuracies)} noisy models, true accuracy "
        f"{100 * min(accuracies):.1f}-{100 * max(accuracies):.1f}% ({study.truth_samples:,} samples each)"
    )
    rows = [
        [row.estimator, f"{row.budget:g}", f"{row.cost:.0f}", f"{row.mse:.2e}", f"{row.sampling_mse:.2e}", f"{row.gain:.1f}x"]
        for row in study.rows
    ]
    console.print(titled_table(title, "estimator", "budget", "cost", "MSE", "sampling MSE at that cost", "gain", rows=rows))
    console.print(f"every MSE includes the true accuracies' own sampling error, about {study.truth_floor:.1e}")
    for name, why in study.skipped.items():
        console.print(f"skipped {name}: {why}")
    console.print(f"saved {paths[0]} and {paths[1]}")
