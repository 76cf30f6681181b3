"""Scoring AlgZoo models on fresh samples and laying the scores out against the published grid.

`eval algzoo` scores the best stored run of every cell (and the hand-built models) on 2^20 fresh
samples: accuracy in % for the distribution tasks, RMSE for `median`. A model's score is cached
beside it, keyed by the hash of its weights, the sample count and the seed, so a second report is
instant and a retrained model is scored again.
"""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from circuits_benchmark.algzoo.cpu import torch_threads
from circuits_benchmark.algzoo.handbuilt import CONSTRUCTIONS
from circuits_benchmark.algzoo.models import HANDBUILT, ZooModel, ZooSpec, load_zoo_model, stored_specs, zoo_dir
from circuits_benchmark.algzoo.reference import GRIDS
from circuits_benchmark.algzoo.tasks import DISTRIBUTION, data_generator, get_task
from circuits_benchmark.evaluation.figures import pyplot, save_png
from circuits_benchmark.models.model_id import ModelId
from circuits_benchmark.storage.files import atomic_write_json, read_json

EVALUATION_SAMPLES = 2**20
CHUNK = 2**16


@torch.no_grad()
def evaluate_model(model: ZooModel, samples: int = EVALUATION_SAMPLES, seed: int = 0) -> float:
    """Accuracy (a fraction) or RMSE of `model` on `samples` fresh samples drawn from `seed`."""
    task, n = model.spec.task_def, model.spec.seq_len
    generator = data_generator(model.spec.name, "evaluation", seed)
    total = 0.0
    for start in range(0, samples, CHUNK):
        count = min(CHUNK, samples - start)
        inputs, targets = task.sample(n, count, generator)
        outputs = model.predict(inputs)
        outputs = outputs if task.output == DISTRIBUTION else outputs[:, None]
        score = task.score(outputs, targets).item()
        total += count * (score if task.output == DISTRIBUTION else score**2)
    mean = total / samples
    return mean if task.output == DISTRIBUTION else mean**0.5


@dataclasses.dataclass(frozen=True)
class CellResult:
    """One evaluated model: its score in report units (% or RMSE) beside the published one."""

    spec: ZooSpec
    value: float
    reference: float | None
    parameters: int
    steps: int | None
    sequences: int | None

    @property
    def in_grid(self) -> bool:
        grid = GRIDS.get(self.spec.task)
        return (
            self.spec.run != HANDBUILT and grid is not None
            and self.spec.hidden in grid.hidden and self.spec.seq_len in grid.lengths
        )

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.spec.name, **dataclasses.asdict(self), "spec": self.spec.to_dict()}


def report_value(spec: ZooSpec, score: float) -> float:
    """Accuracy as a percentage (as the published tables give it); RMSE unchanged."""
    return 100.0 * score if spec.task_def.output == DISTRIBUTION else score


def evaluate_zoo(
    output_dir: Path, samples: int = EVALUATION_SAMPLES, seed: int = 0, advance: Callable[[int], None] | None = None
) -> list[CellResult]:
    """Scores the best stored run of every cell and every hand-built model; writes evaluation.json."""
    specs = evaluation_specs(output_dir)
    results = []
    with torch_threads():
        for spec in specs:
            results.append(_evaluate_cell(spec, output_dir, samples, seed))
            if advance is not None:
                advance(1)
    atomic_write_json(
        zoo_dir(output_dir) / "evaluation.json",
        {"samples": samples, "seed": seed, "models": [result.to_dict() for result in results]},
    )
    return results


def _evaluate_cell(spec: ZooSpec, output_dir: Path, samples: int, seed: int) -> CellResult:
    model = load_zoo_model(spec, output_dir)
    score = _cached_score(model, output_dir, samples, seed)
    grid = GRIDS.get(spec.task)
    return CellResult(
        spec=spec, value=report_value(spec, score),
        reference=grid.reference_value(spec.hidden, spec.seq_len) if grid and spec.run != HANDBUILT else None,
        parameters=model.parameter_count(),
        steps=model.record.get("recipe", {}).get("steps"), sequences=model.record.get("sequences"),
    )


def evaluation_specs(output_dir: Path) -> list[ZooSpec]:
    """The best stored run of each trained cell, then the hand-built models."""
    cells = sorted({spec.cell for spec in stored_specs(output_dir)})
    best = [load_zoo_model(str(ModelId("algzoo", (t, a, f"h{h}", f"n{n}"))), output_dir).spec for t, a, h, n in cells]
    return best + [ZooSpec(*cell, HANDBUILT) for cell in CONSTRUCTIONS]


def _cached_score(model: ZooModel, output_dir: Path, samples: int, seed: int) -> float:
    """The model's score, read from its folder when the same weights were scored the same way."""
    digest = hashlib.sha256(b"".join(w.contiguous().numpy().tobytes() for _, w in sorted(model.weights().items()))).hexdigest()
    key = {"weights_sha256": digest, "samples": samples, "seed": seed}
    path = zoo_dir(output_dir) / "scores" / f"{model.spec.name}.json"
    if path.exists():
        cached = read_json(path)
        if all(cached.get(name) == value for name, value in key.items()):
            return cached["score"]
    score = evaluate_model(model, samples, seed)
    atomic_write_json(path, {**key, "score": score})
    return score


@dataclasses.dataclass(frozen=True)
class Table:
    """A report table: title, column headers, rows of cell strings."""

    title: str
    columns: list[str]
    rows: list[list[str]]


def grid_tables(results: list[CellResult], samples: int = EVALUATION_SAMPLES) -> list[Table]:
    """One table per task with trained models, laid out like the published grid: ours (reference),
    ours scored on `samples` fresh samples (as `evaluate_zoo` was asked to)."""
    tables = []
    for task, grid in GRIDS.items():
        cells = {(r.spec.hidden, r.spec.seq_len): r for r in results if r.spec.task == task and r.in_grid}
        if not cells:
            continue
        percent = get_task(task).output == DISTRIBUTION
        rows = []
        for hidden in grid.hidden:
            row = [str(hidden)]
            for n in grid.lengths:
                result = cells.get((hidden, n))
                ours = "-" if result is None else _format(result.value, percent)
                reference = grid.reference_value(hidden, n)
                row.append(ours if reference is None else f"{ours} ({_format(reference, percent)})")
            rows.append(row)
        unit = "accuracy %" if percent else "RMSE"
        reference_note = "" if grid.reference is None else ", reference in brackets (best of 5 seeds, 2^30 sequences)"
        title = f"{task}: {unit}, ours on {samples:,} fresh samples{reference_note}; {_budget(cells.values())}"
        tables.append(Table(title, ["h \\ n", *map(str, grid.lengths)], rows))
    return tables


def other_table(results: list[CellResult]) -> Table | None:
    """Hand-built models and trained models outside the grid."""
    rows = []
    for result in results:
        if result.in_grid:
            continue
        percent = result.spec.task_def.output == DISTRIBUTION
        unit = "%" if percent else " RMSE"
        trained = "hand-built" if result.spec.run == HANDBUILT else f"{result.steps:,} steps"
        rows.append([result.spec.name, str(result.parameters), f"{_format(result.value, percent)}{unit}", trained])
    return Table("other models", ["model", "parameters", "score", "training"], rows) if rows else None


def _format(value: float, percent: bool) -> str:
    return f"{value:.1f}" if percent else f"{value:.3f}"


def _budget(results: Any) -> str:
    """The step budgets used in one table, e.g. '4,096 steps x 1,024 sequences (2^22)'."""
    budgets = sorted({(r.steps, r.sequences) for r in results})
    parts = []
    for steps, sequences in budgets:
        exponent = np.log2(sequences)
        power = f" = 2^{exponent:.0f}" if exponent.is_integer() else ""
        parts.append(f"{steps:,} steps, {sequences:,} sequences{power}")
    return "budget " + "; ".join(parts)


def draw_heatmap(results: list[CellResult], path: Path) -> Path:
    """A PNG with one heatmap per task: our score in each cell, the reference beneath it."""
    plt = pyplot()

    tasks = [task for task in GRIDS if any(r.spec.task == task and r.in_grid for r in results)]
    figure, axes = plt.subplots(1, max(1, len(tasks)), figsize=(4.6 * max(1, len(tasks)), 4.4), squeeze=False)
    for axis, task in zip(axes[0], tasks):
        _draw_task(axis, task, [r for r in results if r.spec.task == task and r.in_grid])
    save_png(figure, path)
    return path


def _draw_task(axis: Any, task: str, results: list[CellResult]) -> None:
    grid = GRIDS[task]
    scalar = get_task(task).output != DISTRIBUTION
    values = np.full((len(grid.hidden), len(grid.lengths)), np.nan)
    for result in results:
        values[grid.hidden.index(result.spec.hidden), grid.lengths.index(result.spec.seq_len)] = result.value
    # Accuracy: high is good (green); RMSE: low is good, so its colour map runs the other way.
    axis.imshow(values, cmap="RdYlGn_r" if scalar else "RdYlGn", vmin=0, vmax=0.35 if scalar else 100, aspect="auto")
    for row, hidden in enumerate(grid.hidden):
        for column, n in enumerate(grid.lengths):
            reference = grid.reference_value(hidden, n)
            ours = "-" if np.isnan(values[row, column]) else _format(values[row, column], not scalar)
            text = ours if reference is None else f"{ours}\n({_format(reference, not scalar)})"
            axis.text(column, row, text, ha="center", va="center", fontsize=7)
    axis.set_xticks(range(len(grid.lengths)), [str(n) for n in grid.lengths])
    axis.set_yticks(range(len(grid.hidden)), [str(h) for h in grid.hidden])
    axis.set_xlabel("n (sequence length)")
    axis.set_ylabel("h (hidden size)")
    axis.set_title(f"{task} ({'RMSE' if scalar else 'accuracy %'}), ours (reference)", fontsize=9)
