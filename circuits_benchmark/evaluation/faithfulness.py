"""MIB-style faithfulness: how much of the model's behaviour the top-k% edges recover.

For each circuit size k (percent of the q/k/v-level edges, taken in score order) the faithfulness
is f(C) = (m(C) - m(empty)) / (m(full) - m(empty)) with m = -distance to the clean output, i.e.
f = 1 - D(C) / D(empty). CPR is the area under f against the edge fraction (trapezoid, with
f(0) = 0 added), higher is better; CMD is the area under |1 - f|, lower is better.

The sizes are MIB's grid of percentages turned into edge counts (at least one edge): on a small
graph several percentages give the same count (23 edges: 0.1% to 5% are all one edge), so the
curve holds each distinct count once, at the fraction of edges it really keeps, and CPR and CMD
integrate over those true fractions.
"""

from __future__ import annotations

import dataclasses

import torch

from circuits_benchmark.discovery.problem import DiscoveryProblem

CIRCUIT_SIZES_PERCENT = (0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100)


@dataclasses.dataclass
class FaithfulnessCurve:
    """Faithfulness per circuit size (edges kept, and that as a percentage) and its two summaries."""

    edge_counts: list[int]
    sizes_percent: list[float]
    faithfulness: list[float]
    cpr: float
    cmd: float

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def faithfulness_curve(problem: DiscoveryProblem, edge_scores: torch.Tensor) -> FaithfulnessCurve:
    """Faithfulness of the top-k% edges by `edge_scores` for every distinct size of the MIB grid."""
    order = torch.argsort(edge_scores, descending=True, stable=True)

    def distance(count: int) -> float:
        masks = problem.masks(0.0)
        masks[order[:count]] = 1.0
        with torch.no_grad():
            return float(problem.distance(problem.run(masks)))

    empty = distance(0)
    n_edges = problem.n_edges
    counts = sorted({max(1, round(n_edges * percent / 100)) for percent in CIRCUIT_SIZES_PERCENT})
    values = [1.0 - distance(count) / empty if empty > 0 else 1.0 for count in counts]
    xs = [0.0] + [count / n_edges for count in counts]
    ys = [0.0] + values
    cpr = sum((x1 - x0) * (y0 + y1) / 2 for x0, x1, y0, y1 in zip(xs, xs[1:], ys, ys[1:]))
    cmd = sum((x1 - x0) * (abs(1 - y0) + abs(1 - y1)) / 2 for x0, x1, y0, y1 in zip(xs, xs[1:], ys, ys[1:]))
    return FaithfulnessCurve(counts, [100 * count / n_edges for count in counts], values, cpr, cmd)
