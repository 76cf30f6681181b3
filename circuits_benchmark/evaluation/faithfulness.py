"""MIB-style faithfulness: how much of the model's behaviour the top-k% edges recover.

**Task metric.** As in MIB, faithfulness is measured with a task metric m, not a distance:
categorical outputs use the logit difference between the clean and the corrupted answer
(`metrics.logit_difference`), numerical outputs the projection of the output on the clean-minus-
corrupted direction (`metrics.clean_minus_corrupted_projection`). For a circuit C (the edges kept,
every other edge ablated) f(C) = (m(C) - m(empty)) / (m(full) - m(empty)). With a distance f could
never pass 1, so CMD was always 1 - CPR; with a task metric a circuit can do better than the full
model (f > 1) or worse than the empty one (f < 0), and CMD, the area under |1 - f|, says something
of its own. CPR is the area under f against the edge fraction (trapezoid, with f(0) = 0 added),
higher is better; CMD is lower-is-better. Where m(full) = m(empty) (no counted position whose
clean and corrupted answers differ) f is undefined: the curve has no point and CPR and CMD are None.

**Held-out pairs.** The curve is measured on pairs no method saw: (clean, corrupted) pairs drawn
from the "faithfulness" stream of the run's seed (`BenchmarkModel.clean_and_corrupted`) under the
run's corruption, minus any pair the method's own batch holds. A trained model's sampler excludes
its training inputs, so these pairs are held out from training as well. A run on a user's own
pairs is scored on the model's own held-out pairs, independently corrupted (the curve's
`held_out_pairs` says which): the user's pairs all go to the method, and a curve measured on
pairs drawn the same way for every run compares runs on different pair files.

**Sizes.** MIB's grid of percentages turned into edge counts (at least one edge): on a small graph
several percentages give the same count (23 edges: 0.1% to 5% are all one edge), so the curve holds
each distinct count once, at the fraction of edges it really keeps, and CPR and CMD integrate over
those true fractions.

**Ties.** Edges with equal scores enter together. Where the k-th edge falls inside a group of
tied edges, f is interpolated linearly between keeping the edges above the group and keeping the
whole group (rank-based interpolation, as an ROC curve draws a tied group as a diagonal segment),
so no layout order decides which tied edge is kept.
"""

from __future__ import annotations

import dataclasses
from typing import Protocol

import torch

from circuits_benchmark.discovery.metrics import clean_minus_corrupted_projection, logit_difference
from circuits_benchmark.discovery.problem import DiscoveryProblem
from circuits_benchmark.errors import BenchmarkError
from circuits_benchmark.patching.output_change import PatchingBatch

CIRCUIT_SIZES_PERCENT = (0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100)
FAITHFULNESS_STREAM = "faithfulness"
# m(full) and m(empty) closer than this (relative) leave f undefined: float noise, not a behaviour.
UNDEFINED_SPAN = 1e-9


@dataclasses.dataclass
class FaithfulnessCurve:
    """Faithfulness per circuit size (edges kept, and that as a percentage) and its two summaries
    (None where the task metric cannot tell the full model from the empty circuit)."""

    edge_counts: list[int]
    sizes_percent: list[float]
    faithfulness: list[float]
    cpr: float | None
    cmd: float | None
    held_out_pairs: str = ""

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


class TaskMetricMeasure(Protocol):
    """What the curve needs: the number of edges, and the task metric with a mask vector applied
    (1 keeps an edge, 0 ablates it) and of the full model."""

    n_edges: int

    def circuit_metric(self, masks: torch.Tensor) -> float: ...

    def full_metric(self) -> float: ...


class HeldOutTaskMetric:
    """The task metric on a batch of held-out pairs, with the ablation of a problem."""

    def __init__(self, batch: PatchingBatch, ablation: str) -> None:
        self.batch, self.ablation = batch, ablation
        self.n_edges = batch.patchable.n_edges
        categorical = batch.categorical
        self._metric = logit_difference if categorical else clean_minus_corrupted_projection

    def _of(self, output: torch.Tensor) -> float:
        batch = self.batch
        return float(self._metric(output, batch.reference, batch.corrupted_reference, batch.weights.float()))

    def circuit_metric(self, masks: torch.Tensor) -> float:
        with torch.no_grad():
            return self._of(self.batch.patchable.run(self.batch.clean, masks.to(self.batch.clean.device), self.batch.ablated(self.ablation)))

    def full_metric(self) -> float:
        return self._of(self.batch.reference)


def held_out_batch(problem: DiscoveryProblem) -> PatchingBatch:
    """As many (clean, corrupted) pairs as the method got, from the faithfulness stream of its seed,
    none of them one of the method's pairs; raises BenchmarkError when the input space holds no
    other pair."""
    model, batch = problem.benchmark_model, problem.batch
    count = len(batch.clean)
    seen = set(zip(map(tuple, batch.clean.tolist()), map(tuple, batch.corrupted.tolist())))
    # Drawing `seen` more pairs than needed leaves enough unless the pair space is nearly exhausted.
    clean, corrupted = model.clean_and_corrupted(count + len(seen), problem.seed, FAITHFULNESS_STREAM, problem.corruption)
    fresh = [i for i, pair in enumerate(zip(map(tuple, clean.tolist()), map(tuple, corrupted.tolist()))) if pair not in seen][:count]
    if not fresh:
        raise BenchmarkError(f"{model.model_id}: no held-out (clean, corrupted) pair outside the method's {count}")
    device = str(problem.patchable.device)
    return PatchingBatch.from_inputs(model, clean[fresh], corrupted[fresh], device, batch.tolerance)


def faithfulness_curve(problem: DiscoveryProblem, edge_scores: torch.Tensor) -> FaithfulnessCurve:
    """The faithfulness of the top-k% edges by `edge_scores` on held-out pairs (module docstring)."""
    key = ("held-out", problem.seed, problem.corruption)
    if key not in problem.batch.derived:  # runs on one draw of data share their held-out pairs
        problem.batch.derived[key] = held_out_batch(problem)
    curve = curve_of(HeldOutTaskMetric(problem.batch.derived[key], problem.ablation), edge_scores)
    curve.held_out_pairs = f"the model's own, {problem.corruption} corruption, {FAITHFULNESS_STREAM} stream of seed {problem.seed}"
    return curve


def curve_of(measure: TaskMetricMeasure, edge_scores: torch.Tensor) -> FaithfulnessCurve:
    """Faithfulness at every distinct size of the MIB grid, ties interpolated (module docstring)."""
    n_edges = measure.n_edges
    scores = edge_scores.detach().cpu().double()
    order = torch.argsort(scores, descending=True, stable=True)
    ranked = scores[order]
    counts = sorted({max(1, round(n_edges * percent / 100)) for percent in CIRCUIT_SIZES_PERCENT})
    measured: dict[int, float] = {}

    def metric_of_top(count: int) -> float:
        if count not in measured:
            masks = torch.zeros(n_edges)
            masks[order[:count]] = 1.0
            measured[count] = measure.circuit_metric(masks)
        return measured[count]

    empty, full = metric_of_top(0), measure.full_metric()
    if abs(full - empty) <= UNDEFINED_SPAN * max(1.0, abs(full)):
        return FaithfulnessCurve([], [], [], None, None)

    def faithfulness_at(count: int) -> float:
        above, through = _tie_group(ranked, count)
        low, high = metric_of_top(above), metric_of_top(through)
        metric = low if through == above else low + (count - above) / (through - above) * (high - low)
        return (metric - empty) / (full - empty)

    values = [faithfulness_at(count) for count in counts]
    xs = [0.0] + [count / n_edges for count in counts]
    ys = [0.0] + values
    cpr = sum((x1 - x0) * (y0 + y1) / 2 for x0, x1, y0, y1 in zip(xs, xs[1:], ys, ys[1:]))
    cmd = sum((x1 - x0) * (abs(1 - y0) + abs(1 - y1)) / 2 for x0, x1, y0, y1 in zip(xs, xs[1:], ys, ys[1:]))
    return FaithfulnessCurve(counts, [100 * count / n_edges for count in counts], values, cpr, cmd)


def _tie_group(ranked: torch.Tensor, count: int) -> tuple[int, int]:
    """For the top `count` of scores sorted in descending order: how many score strictly above the
    `count`-th one, and how many score at least as high (`count` itself when no tie crosses it)."""
    if count == 0 or count == len(ranked):
        return count, count
    boundary = ranked[count - 1]
    if ranked[count] != boundary:
        return count, count
    return int((ranked > boundary).sum()), int((ranked >= boundary).sum())
