"""`./main.py train iit`, `eval iit`, `eval node_realism` (and `gt_node_realism`, the same without --result) (thin wrappers).

Flags follow InterpBench's (`-iit`, `-s`, `-b`, `--epochs`, `--early-stop`, `-w`). torch and the
training code are imported inside the commands, so `./main.py --help` stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Callable, Optional

import typer
from rich.console import Console
from rich.table import Table

from circuits_benchmark.choices import Ablation
from circuits_benchmark.cli.options import (
    DEFAULT_OUTPUT_DIR,
    AblationOption,
    Device,
    Indices,
    OutputDir,
    Seed,
    Tracr,
    Weights,
    case_model_id,
    check_number,
    resolve_device,
)
from circuits_benchmark.cli.progress import progress_bar
from circuits_benchmark.cli.tables import titled_table

console = Console()

Examples = Annotated[int, typer.Option("--n-examples", help="Input pairs evaluated.")]


IitWeight = Annotated[Optional[float], typer.Option("-iit", "--iit-weight", "--iit_weight", help="IIT loss weight (default: the task's recipe; tracr cases 1).")]
StrictWeight = Annotated[Optional[float], typer.Option("-s", "--strict-weight", "--strict_weight", help="Strict loss weight (default: the task's recipe; tracr cases 0.4, IOI 1).")]
BehaviorWeight = Annotated[Optional[float], typer.Option("-b", "--behavior-weight", "--behavior_weight", help="Behaviour loss weight (default: the task's recipe; tracr cases 1).")]
Epochs = Annotated[Optional[int], typer.Option("--epochs", help="Most passes over the training inputs (default: the task's recipe; tracr cases 500).")]
BatchSize = Annotated[Optional[int], typer.Option("--batch-size", help="Inputs per step (default: the task's recipe; tracr cases 64).")]
LearningRate = Annotated[Optional[float], typer.Option("--lr", help="Adam learning rate (default: the task's recipe; tracr cases 3e-3, IOI 2e-3).")]
EarlyStop = Annotated[Optional[bool], typer.Option("--early-stop/--no-early-stop", help="Stop once accuracy, IIA and strict IIA reach --target and the ground truth is faithful and minimal (resample) (default: on).")]
Target = Annotated[Optional[float], typer.Option("--target", help="Early-stop bar for all three held-out metrics (default: the task's release bar; tracr cases 0.995, IOI 0.99).")]
Atol = Annotated[Optional[float], typer.Option("--atol", help="Numerical outputs match within this absolute tolerance (default: 0.05).")]
MaxSeconds = Annotated[Optional[float], typer.Option("--max-seconds", help="Stop at the first epoch end past this much training time.")]
Resume = Annotated[bool, typer.Option("--resume", help="Continue the run with these settings from its last checkpoint.")]
Wandb = Annotated[bool, typer.Option("--wandb", "--use-wandb", help="Log to Weights & Biases (offline unless WANDB_MODE=online).")]
WandbProject = Annotated[str, typer.Option("--wandb-project", help="wandb project name.")]
TrainingSeed = Annotated[Optional[int], typer.Option("--seed", help="Random seed (default: the task's recipe; 0 for most).")]
Threads = Annotated[Optional[int], typer.Option("--threads", help="CPU threads for torch (default: the task's recipe; tracr cases 1 (fastest for their small models), IOI 2).")]


def train_iit(
    indices: Indices = None,
    iit_weight: IitWeight = None,
    strict_weight: StrictWeight = None,
    behavior_weight: BehaviorWeight = None,
    epochs: Epochs = None,
    batch_size: BatchSize = None,
    lr: LearningRate = None,
    early_stop: EarlyStop = None,
    target: Target = None,
    atol: Atol = None,
    max_seconds: MaxSeconds = None,
    resume: Resume = False,
    wandb: Wandb = False,
    wandb_project: WandbProject = "circuits-benchmark-siit",
    threads: Threads = None,
    jobs: Annotated[int, typer.Option("--jobs", "-j", help="Cases trained at once, one process each (CPU).")] = 1,
    seed: TrainingSeed = None,
    output_dir: OutputDir = DEFAULT_OUTPUT_DIR,
    device: Device = "cpu",
) -> None:
    """Train a fresh transformer to implement each selected task's circuit (SIIT).

    A flag left out takes the task's recipe (its family's: see each flag).

    `-i suite --jobs 2 --resume` trains the realistic suite on both cores and, run again after a kill, continues where it stopped.
    """
    import torch

    from circuits_benchmark.errors import BenchmarkError
    from circuits_benchmark.training.suite import train_case, train_in_workers
    from circuits_benchmark.training.task_families import parse_task_keys, task_family

    if indices is None:
        raise BenchmarkError("train iit needs -i: which tasks to train (3, 3,4,21, 1-10, all, suite or a named task such as ioi)")
    check_number("--jobs", jobs, minimum=1)
    if threads is not None:
        check_number("--threads", threads, minimum=1)
    given = {
        "behaviour_weight": behavior_weight, "iit_weight": iit_weight, "strict_weight": strict_weight, "epochs": epochs,
        "batch_size": batch_size, "lr": lr, "early_stop": early_stop, "target": target, "tolerance": atol,
        "max_seconds": max_seconds, "seed": seed,
    }
    overrides = {name: value for name, value in given.items() if value is not None}
    case_ids = parse_task_keys(indices)
    settings = {case_id: task_family(case_id).settings(case_id, **overrides) for case_id in case_ids}
    device = resolve_device(device)
    if jobs > 1 and (device != "cpu" or wandb):
        raise BenchmarkError("--jobs above 1 trains on the CPU without wandb: use --jobs 1 for -d cuda or --wandb")
    if jobs == 1:
        outcomes = []
        for case_id in case_ids:
            torch.set_num_threads(threads or task_family(case_id).recipe_for(case_id).threads)
            tracker = _tracker(wandb, wandb_project, case_id, settings[case_id], output_dir)
            with progress_bar(f"case {case_id}", settings[case_id].epochs) as advance:
                try:
                    outcomes.append(train_case(case_id, settings[case_id], output_dir, resume, device, _epoch_reporter(advance), tracker))
                finally:
                    if tracker is not None:
                        tracker.finish()
    else:
        with progress_bar(f"{len(case_ids)} cases, {jobs} jobs", len(case_ids)) as advance:
            outcomes = train_in_workers(
                settings, output_dir, resume, jobs,
                lambda outcome: advance(status=f"case {outcome.case_id} {outcome.status}"),
            )
    _print_outcomes(outcomes, output_dir)




def _print_outcomes(outcomes: list[Any], output_dir: Path) -> None:
    """The table of trained cases, the model ids, and the cases left untrained with the reason."""
    console.print(outcomes_table(outcomes))
    for outcome in outcomes:
        if outcome.meta is not None:
            console.print(f"{outcome.status} {outcome.meta.model_id}")
            for line in redundancy_notes(f"case {outcome.case_id}", outcome.meta.ground_truth_checks or {}):
                console.print(line)
        else:
            console.print(f"case {outcome.case_id} not trained: {outcome.reason}")
    console.print(f"models in {output_dir / 'll_models'}")


def outcomes_table(outcomes: list[Any]) -> Table:
    """The trained cases (`training.suite.CaseOutcome`s with a meta): held-out metrics and the
    resample ground-truth verdict in words that an 80-column terminal shows whole."""
    from circuits_benchmark.training.settings import HELD_OUT_METRICS

    table = titled_table(
        "SIIT runs (held-out metrics)", "case", "epochs", "stopped", "accuracy", "IIA", "strict IIA", "seconds", "ground truth (resample)"
    )
    for outcome in outcomes:
        meta = outcome.meta
        if meta is None:
            continue
        metrics = meta.metrics
        check = (meta.ground_truth_checks or {}).get(Ablation.RESAMPLE)
        verdict = "never checked" if check is None else ground_truth_verdict(check)
        table.add_row(
            str(outcome.case_id), str(meta.epochs), meta.stopped,
            *(f"{100 * metrics[m]:.2f}%" for m in HELD_OUT_METRICS), f"{meta.train_seconds:.1f}", verdict,
        )
    return table


def eval_iit(
    indices: Indices = None,
    weights: Weights = None,
    n_examples: Examples = 500,
    seed: Seed = 0,
    output_dir: OutputDir = DEFAULT_OUTPUT_DIR,
) -> None:
    """Held-out accuracy, IIA, strict IIA; per-node ablation effects; the ground truth's faithfulness and minimality."""
    from circuits_benchmark.training.task_families import parse_task_keys
    from circuits_benchmark.analyses.iit_evaluation import evaluate_trained_run

    check_number("--n-examples", n_examples, minimum=2)
    for case_id in parse_task_keys(indices):
        evaluation = evaluate_trained_run(case_id, weights, output_dir, n_examples, seed)
        console.print(f"[bold]{evaluation.model_id}[/bold]: " + _metrics_text(evaluation.metrics))
        effects = titled_table("node ablation effects (output positions changed)", "node", "circuit", "resample", "zero", "mean")
        for effect in evaluation.node_effects:
            effects.add_row(effect.node, "yes" if effect.in_circuit else "", *(f"{100 * effect.effects[a].changed_fraction:.2f}%" for a in Ablation))
        console.print(effects)
        console.print(_ground_truth_table(evaluation.ground_truth_checks))
        console.print(f"written to {evaluation.result_dir}")


def eval_node_realism(
    result: Annotated[
        Optional[Path],
        typer.Option("--result", help="A result.json with a 'circuit' key (Circuit JSON); without it, the model's ground truth."),
    ] = None,
    indices: Indices = None,
    weights: Weights = None,
    tracr: Tracr = False,
    ablation: AblationOption = "resample",
    n_examples: Examples = 500,
    seed: Seed = 0,
    output_dir: OutputDir = DEFAULT_OUTPUT_DIR,
) -> None:
    """Output change when every node outside a circuit is ablated: a discovered one (--result, one
    case), else each selected model's ground truth (`gt_node_realism` is this without --result)."""
    from circuits_benchmark.training.task_families import parse_task_keys
    from circuits_benchmark.analyses.iit_evaluation import outside_ablation_of_ground_truth, outside_ablation_of_result

    check_number("--n-examples", n_examples, minimum=2)
    if result is not None:
        report = outside_ablation_of_result(result, _one_model_id(indices, weights, tracr), output_dir, ablation, n_examples, seed)
        _print_outside_ablation(report)
        return
    for case_id in parse_task_keys(indices):
        _print_outside_ablation(outside_ablation_of_ground_truth(case_model_id(case_id, weights, tracr), output_dir, ablation, n_examples, seed))


def _one_model_id(indices: str | None, weights: str | None, tracr: bool) -> str:
    from circuits_benchmark.training.task_families import parse_task_keys
    from circuits_benchmark.errors import BenchmarkError

    case_ids = parse_task_keys(indices) if indices else []
    if len(case_ids) != 1:
        raise BenchmarkError("node_realism scores one circuit on one model: pass exactly one case with -i")
    return case_model_id(case_ids[0], weights, tracr)


def _epoch_reporter(advance: Callable[..., None]) -> Callable[[int, dict[str, Any]], None]:
    """An epoch callback that moves the bar to the epoch reached (a resumed run jumps) and shows the
    metrics, and why training goes on at the bar (its ground truth failed the check)."""
    from circuits_benchmark.training.trainer import training_on_reason

    shown = 0

    def on_epoch(epoch: int, record: dict[str, Any]) -> None:
        nonlocal shown
        reason = training_on_reason(record)
        advance(epoch - shown, status=_metrics_text(record) + (f"  training on: {reason}" if reason else ""))
        shown = epoch

    return on_epoch


def _tracker(enabled: bool, project: str, case_id: int, settings: Any, output_dir: Path) -> Any:
    if not enabled:
        return None
    import dataclasses

    from circuits_benchmark.training.tracking import WandbTracker

    name = f"case-{case_id}-{settings.run_id()}"
    config = {"case_id": case_id, **dataclasses.asdict(settings)}
    return WandbTracker(name, config, output_dir / "wandb", project)


def _print_outside_ablation(report: dict[str, Any]) -> None:
    change = report["change"]
    console.print(
        f"[bold]{report['model_id']}[/bold], {report['circuit_source']} ({len(report['circuit']['nodes'])} nodes), "
        f"{report['ablation']} ablation of every node outside: {_percent(change)} of output positions changed, "
        f"{change['changed_inputs']}/{change['inputs']} inputs, mean change {change['mean_change']:.4g}"
    )
    console.print(f"written to {report['result_dir']}")


def ground_truth_verdict(check: dict[str, Any]) -> str:
    """One table cell for a stored ground-truth check, in short words that wrap whole in a narrow
    column: 'faithful' or 'unfaithful (3.47%)', then 'minimal' or 'not minimal' (the redundant
    parts, too long for a cell, are listed under the table by `redundancy_notes`)."""
    faithful = "faithful" if check["faithful"] else f"unfaithful ({100 * check['changed_fraction']:.2f}%)"
    return f"{faithful}, {'minimal' if check['minimal'] else 'not minimal'}"


def redundancy_notes(label: str, checks: dict[str, dict[str, Any]]) -> list[str]:
    """One line per ablation whose ground-truth check found redundant parts, naming them."""
    return [
        f"{label}: ground truth not minimal under {ablation} ablation, redundant: {', '.join(check['redundant'])}"
        for ablation, check in checks.items()
        if not check["minimal"]
    ]


def _ground_truth_table(checks: list[Any]) -> Table:
    """Sufficiency and necessity of a ground truth (`GroundTruthCheck`s), one row per ablation."""
    from circuits_benchmark.evaluation.circuit_checks import FAITHFULNESS_TOLERANCE

    table = titled_table(
        "ground truth: kept alone (faithful) and each part removed (minimal)",
        "ablation", "positions changed", "inputs changed", "faithful", "parts", "redundant parts",
    )
    for check in checks:
        kept = check.kept
        table.add_row(
            check.ablation, f"{100 * kept.changed_fraction:.2f}%", f"{kept.changed_inputs}/{kept.inputs}",
            f"{'yes' if check.faithful else 'no'} (tolerance {100 * FAITHFULNESS_TOLERANCE:.1f}%)",
            str(len(check.removals)), ", ".join(check.redundant) or "none",
        )
    return table


def _metrics_text(values: dict[str, Any]) -> str:
    return f"acc {100 * values['accuracy']:.1f}%  IIA {100 * values['iia']:.1f}%  strict {100 * values['strict_iia']:.1f}%"


def _percent(change: dict[str, Any]) -> str:
    return f"{100 * change['changed_fraction']:.2f}%"


def eval_realism(
    indices: Indices = None,
    n_examples: Examples = 500,
    max_seconds: Annotated[float, typer.Option("--max-seconds", help="Training cap for each missing IIT or natural model.")] = 90.0,
    seed: Seed = 0,
    output_dir: OutputDir = DEFAULT_OUTPUT_DIR,
) -> None:
    """Weights, activations, node ablation effects and ACDC's faithfulness of a task's compiled (a tracr case's), SIIT,
    IIT (no strict loss) and natural (behaviour loss only) models, side by side; trains the missing ones."""
    from circuits_benchmark.analyses.realism_models import realism_report
    from circuits_benchmark.training.task_families import parse_task_keys
    from circuits_benchmark.training.task_keys import task_label

    check_number("--n-examples", n_examples, minimum=2)
    check_number("--max-seconds", max_seconds, above=0)
    for case_id in parse_task_keys(indices):
        label = task_label(case_id)
        report = realism_report(case_id, output_dir, n_examples, seed, max_seconds,
                                lambda family: console.print(f"{label}: training its {family} model"))
        columns = ("effective_rank", "kurtosis", "dead_mlp_share", "effect_in_circuit", "effect_outside", "acdc_cpr")
        rows = [[family, *(_number(summary[c]) for c in columns)] for family, summary in report["summary"].items()]
        console.print(titled_table(
            f"{label}: how natural do its models look? (medians over matrices; means over nodes, resample ablation)",
            "model", "effective rank", "kurtosis", "dead MLP units", "node effect: circuit", "node effect: others", "ACDC CPR",
            rows=rows,
        ))
        console.print("models: " + ", ".join(f"{family} {model_id}" for family, model_id in report["models"].items()))
        console.print(f"written to {report['result_dir']}")


def _number(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3g}"
