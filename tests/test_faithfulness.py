"""Faithfulness curve, CPR and CMD (MIB) against values worked out by hand.

`curve_of` only uses a measure's `n_edges`, `circuit_metric` and `full_metric`, so most tests use a
fake measure whose task metric is linear: each edge kept adds its contribution a_i, so
m(empty) = 0, m(full) = sum a and f(C) = (sum of a_i over C) / sum a, which can pass 1 or fall
below 0 when contributions have both signs. The real-model tests run a compiled model (tracr:3)
on its held-out pairs.

The curve's x grid, with f(0) = 0 prepended, is
    x = 0, .001, .002, .005, .01, .02, .05, .1, .2, .5, 1
and CPR / CMD are trapezoid areas under f and |1 - f| over it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from circuits_benchmark.evaluation.faithfulness import CIRCUIT_SIZES_PERCENT, curve_of, faithfulness_curve, held_out_batch


class LinearMeasure:
    """Fake measure: the task metric of a circuit is the sum of its edges' contributions."""

    def __init__(self, contributions: list[float]) -> None:
        self.a = torch.tensor(contributions, dtype=torch.float64)
        self.n_edges = len(contributions)
        self.calls: list[int] = []

    def circuit_metric(self, masks: torch.Tensor) -> float:
        self.calls.append(int(masks.sum().item()))
        return float((masks.double() * self.a).sum())

    def full_metric(self) -> float:
        return float(self.a.sum())


def test_grid_is_mibs() -> None:
    assert CIRCUIT_SIZES_PERCENT == (0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100)


def test_curve_cpr_and_cmd_by_hand_on_1000_edges() -> None:
    # 1000 edges, so k% of them is a whole number: counts 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000.
    # Scores 0..999: edge 999 ranks first, edge 999 - r ranks r. Contributions a = 1/4 at ranks 0, 1,
    # 99, 499 (edges 999, 998, 900, 500), zero elsewhere; m(full) = 1.
    # f at each count: 1 -> 1/4, 2..50 -> 1/2, 100 and 200 -> 3/4 (rank 99 is the 100th edge),
    # 500 and 1000 -> 1 (rank 499 is the 500th edge).
    contributions = [0.0] * 1000
    for edge in (999, 998, 900, 500):
        contributions[edge] = 0.25
    problem = LinearMeasure(contributions)
    curve = curve_of(problem, torch.arange(1000, dtype=torch.float32))

    assert curve.sizes_percent == [0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100]
    assert curve.faithfulness == [0.25, 0.5, 0.5, 0.5, 0.5, 0.5, 0.75, 0.75, 1.0, 1.0]
    # Empty circuit first, then one run per grid point with exactly that many edges kept.
    assert problem.calls == [0, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000]
    # CPR, trapezoids over x = 0, .001, .002, .005, ..., 1 with y = 0, 1/4, 1/2, ..., 1:
    #   0 -> .001: .001 * (0 + .25)/2   = .000125
    #   .001 -> .002: .001 * (.25 + .5)/2 = .000375
    #   .002 -> .05: .048 * .5           = .024
    #   .05 -> .1: .05 * (.5 + .75)/2    = .03125
    #   .1 -> .2: .1 * .75               = .075
    #   .2 -> .5: .3 * (.75 + 1)/2       = .2625
    #   .5 -> 1: .5 * 1                  = .5
    #   total                            = .89325
    assert curve.cpr == pytest.approx(0.89325, abs=1e-12)
    # CMD, same trapezoids under |1 - f| = 1, .75, .5, .5, .5, .5, .5, .25, .25, 0, 0:
    #   .000875 + .000625 + .024 + .01875 + .025 + .0375 + 0 = .10675
    assert curve.cmd == pytest.approx(0.10675, abs=1e-12)


def test_small_graph_keeps_at_least_one_edge_and_faithfulness_can_pass_one() -> None:
    # 10 edges: k% of 10 rounds to 0 below 10%, but every grid point keeps at least one edge:
    # counts 1 (seven grid points), 2, 5, 10: each distinct count is evaluated once, at its true
    # fraction of the edges (.1, .2, .5, 1).
    # The top-scored edge (index 7, score .9) adds 3 to the task metric, the second (index 2, score
    # .8) takes 1 away: m(full) = 2, so the top edge alone does better than the full model (f = 1.5).
    contributions = [0.0] * 10
    contributions[7] = 3.0
    contributions[2] = -1.0
    scores = torch.tensor([0.1, 0.2, 0.8, 0.3, 0.0, 0.5, 0.4, 0.9, 0.6, 0.7])
    problem = LinearMeasure(contributions)
    curve = curve_of(problem, scores)

    assert problem.calls == [0, 1, 2, 5, 10]
    assert curve.edge_counts == [1, 2, 5, 10] and curve.sizes_percent == [10.0, 20.0, 50.0, 100.0]
    assert curve.faithfulness == [1.5, 1.0, 1.0, 1.0]
    # CPR: .1*(0 + 1.5)/2 + .1*(1.5 + 1)/2 + .3*1 + .5*1 = .075 + .125 + .8 = 1.0
    assert curve.cpr == pytest.approx(1.0, abs=1e-12)
    # CMD: |1 - f| = 1, .5, 0, 0, 0: .1*(1 + .5)/2 + .1*(.5 + 0)/2 = .075 + .025 = .1
    assert curve.cmd == pytest.approx(0.1, abs=1e-12)
    assert curve.cpr + curve.cmd == pytest.approx(1.1)  # with a task metric CMD is not 1 - CPR


# Equal scores enter together: with every score tied, the curve interpolates between the empty
# circuit and all 1000 edges, whichever index the edge that matters has: f = k / 1000 at every size,
# CPR = CMD = 1/2 (trapezoids are exact on a straight line), and only those two circuits are run.
@pytest.mark.parametrize("index", [0, 999])
def test_ties_favour_no_layout_order(index: int) -> None:
    contributions = [0.0] * 1000
    contributions[index] = 1.0
    measure = LinearMeasure(contributions)
    curve = curve_of(measure, torch.zeros(1000))
    assert curve.faithfulness == pytest.approx([p / 100 for p in CIRCUIT_SIZES_PERCENT], abs=1e-12)
    assert curve.cpr == pytest.approx(0.5, abs=1e-12) and curve.cmd == pytest.approx(0.5, abs=1e-12)
    assert measure.calls == [0, 1000]


def test_a_tie_straddling_the_cut_is_interpolated() -> None:
    # Edge 0 scores highest; edges 1-3 tie below it. Keeping 2 edges takes edge 0 and one of the
    # three tied edges, none preferred: f(2) lies a third of the way from f(1) (edge 0 alone) to
    # f(4) (all of them). Contributions 1, 3, 0, 0 (edge 1 is tied): f(1) = .25, f(4) = 1, f(2) = .5.
    measure = LinearMeasure([1.0, 3.0, 0.0, 0.0] + [0.0] * 6)
    curve = curve_of(measure, torch.tensor([2.0, 1.0, 1.0, 1.0] + [0.0] * 6))
    assert curve.edge_counts == [1, 2, 5, 10]
    assert curve.faithfulness[:2] == pytest.approx([0.25, 0.5], abs=1e-12)


def test_a_model_the_task_metric_cannot_tell_from_the_empty_circuit_has_no_curve() -> None:
    curve = curve_of(LinearMeasure([0.0] * 1000), torch.rand(1000))
    assert curve.edge_counts == curve.faithfulness == [] and curve.cpr is None and curve.cmd is None


def test_to_dict() -> None:
    curve = curve_of(LinearMeasure([1.0] * 1000), torch.zeros(1000))
    data = curve.to_dict()
    assert set(data) == {"edge_counts", "sizes_percent", "faithfulness", "cpr", "cmd", "held_out_pairs"}
    assert data["faithfulness"] == pytest.approx([p / 100 for p in CIRCUIT_SIZES_PERCENT])


# ------------------------------------------------------------------------------- real model


@pytest.fixture(scope="module")
def case3_problem(cache_dir: Path):
    from circuits_benchmark.discovery.settings import MethodSettings
    from circuits_benchmark.models.registry import load_benchmark_model
    from circuits_benchmark.runs import RunConfig, build_problem

    model = load_benchmark_model("tracr:3", cache_dir)
    return build_problem(model, RunConfig("acdc", "tracr:3", MethodSettings(), n_examples=40, seed=0))


def _ground_truth_scores(problem) -> torch.Tensor:
    """The ground-truth edges first, in distinct scores 3, 2, 1 (no tie among them); the rest tie at 0."""
    truth = problem.benchmark_model.ground_truths["resample"].edges
    return torch.tensor([3.0 - truth.index(edge) if edge in truth else 0.0 for edge in problem.patchable.layout.edges()])


def test_faithfulness_reads_held_out_pairs_none_of_them_the_methods(case3_problem) -> None:
    problem = case3_problem
    held_out = held_out_batch(problem)
    method_pairs = set(zip(map(tuple, problem.batch.clean.tolist()), map(tuple, problem.batch.corrupted.tolist())))
    pairs = list(zip(map(tuple, held_out.clean.tolist()), map(tuple, held_out.corrupted.tolist())))
    assert len(pairs) == len(method_pairs) == 40
    assert not set(pairs) & method_pairs
    assert not torch.equal(held_out.clean, problem.batch.clean)


def test_real_model_full_circuit_is_faithful_and_ground_truth_first_gives_the_hand_areas(case3_problem) -> None:
    problem = case3_problem
    # Preconditions the hand values below rest on: 23 q/k/v-level edges, a 3-edge resample ground
    # truth (embed -> m0 -> a1.h0.v, a1.h0 -> output) that is a chain, so any 2 of its edges leave the
    # output exactly as the empty circuit's.
    assert problem.n_edges == 23
    scores = _ground_truth_scores(problem)
    assert int((scores > 0).sum()) == 3
    with torch.no_grad():
        assert torch.equal(problem.run(problem.masks(1.0)), problem.batch.reference)  # full circuit: D = 0

    curve = faithfulness_curve(problem, scores)
    # Counts max(1, round(23 k / 100)): 1 (six grid points), 2, 5, 12, 23: evaluated once each, at
    # fractions 1/23, 2/23, 5/23, 12/23, 1. With the 3 ground-truth edges first: f = 0 while at
    # most 2 are kept, f = 1 from 5 edges on (5 and 12 fall in the tie of the other 20 edges, between
    # 3 and 23 edges kept, where f = 1 at both ends).
    assert curve.edge_counts == [1, 2, 5, 12, 23]
    assert curve.faithfulness == pytest.approx([0.0, 0.0, 1.0, 1.0, 1.0], abs=1e-6)
    # CPR = (3/23)(0 + 1)/2 + 7/23 + 11/23 = 19.5/23; CMD = 1/23 + 1/23 + (3/23)(1 + 0)/2 = 3.5/23.
    assert curve.cpr == pytest.approx(19.5 / 23, abs=1e-6)
    assert curve.cmd == pytest.approx(3.5 / 23, abs=1e-6)
    # The trapezoid rule on the returned points, f(0) = 0 prepended.
    xs = [0.0] + [p / 100 for p in curve.sizes_percent]
    ys = [0.0] + curve.faithfulness
    area = sum((x1 - x0) * (y0 + y1) / 2 for x0, x1, y0, y1 in zip(xs, xs[1:], ys, ys[1:]))
    assert curve.cpr == pytest.approx(area, abs=1e-12)


def test_real_model_ground_truth_last_is_unfaithful_until_the_full_circuit(case3_problem) -> None:
    # Ground-truth edges scored lowest: at 12 edges (of the 20 others, tied: interpolated between 0
    # and 20 edges, f = 0 at both) nothing of the chain is kept, so f = 0 up to there and 1 at all 23. CPR = (11/23)(0 + 1)/2 = 5.5/23;
    # CMD = 12/23 + (11/23)(1 + 0)/2 = 17.5/23.
    curve = faithfulness_curve(case3_problem, -_ground_truth_scores(case3_problem))
    assert curve.faithfulness == pytest.approx([0.0] * 4 + [1.0], abs=1e-6)
    assert curve.cpr == pytest.approx(5.5 / 23, abs=1e-6)
    assert curve.cmd == pytest.approx(17.5 / 23, abs=1e-6)
