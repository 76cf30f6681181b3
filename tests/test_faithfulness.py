"""Faithfulness curve, CPR and CMD (MIB) against values worked out by hand.

`faithfulness_curve` only uses a problem's `n_edges`, `masks`, `run` and `distance`, so most tests use a fake problem whose L2 distance is known in closed form:
the fake output has one coordinate per edge, (1 - mask_i) * a_i, and the clean output is zero,
so D(C) = sum of a_i^2 over the edges left out of C and f(C) = 1 - D(C) / D(empty) is the share
of sum a_i^2 that C holds. One test runs a real compiled model (tracr:3).

The curve's x grid, with f(0) = 0 prepended, is
    x = 0, .001, .002, .005, .01, .02, .05, .1, .2, .5, 1
and CPR / CMD are trapezoid areas under f and |1 - f| over it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from circuits_benchmark.discovery.metrics import output_distance
from circuits_benchmark.evaluation.faithfulness import CIRCUIT_SIZES_PERCENT, faithfulness_curve


class SumOfSquaresProblem:
    """Fake problem: with contributions a (one per edge), output = (1 - masks) * a, clean = 0, metric l2."""

    metric = "l2"

    def __init__(self, contributions: list[float], one_coordinate: bool = False) -> None:
        self.a = torch.tensor(contributions, dtype=torch.float64)
        self.one_coordinate = one_coordinate  # sum all contributions into a single coordinate instead
        width = 1 if one_coordinate else len(contributions)
        self.clean_logits = torch.zeros(1, 1, width, dtype=torch.float64)
        self.position_weights = torch.ones(1, 1, dtype=torch.float64)
        self.calls: list[int] = []

    @property
    def n_edges(self) -> int:
        return len(self.a)

    def masks(self, value: float) -> torch.Tensor:
        return torch.full((self.n_edges,), value, dtype=torch.float64)

    def distance(self, patched: torch.Tensor) -> torch.Tensor:
        """L2 to the clean output (all zeros), as `DiscoveryProblem.distance` computes it."""
        return output_distance(self.metric, patched, self.clean_logits, self.position_weights)

    def run(self, masks: torch.Tensor) -> torch.Tensor:
        self.calls.append(int(masks.sum().item()))
        missing = (1 - masks) * self.a
        out = missing.sum(-1, keepdim=True) if self.one_coordinate else missing
        return out.reshape(1, 1, -1)


def test_grid_is_mibs() -> None:
    assert CIRCUIT_SIZES_PERCENT == (0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100)


def test_curve_cpr_and_cmd_by_hand_on_1000_edges() -> None:
    # 1000 edges, so k% of them is a whole number: counts 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000.
    # Scores 0..999: edge 999 ranks first, edge 999 - r ranks r. Contributions a = 1/2 (a^2 = 1/4) at
    # ranks 0, 1, 99, 499 (edges 999, 998, 900, 500), zero elsewhere; D(empty) = 1.
    # f at each count: 1 -> 1/4, 2..50 -> 1/2, 100 and 200 -> 3/4 (rank 99 is the 100th edge),
    # 500 and 1000 -> 1 (rank 499 is the 500th edge).
    contributions = [0.0] * 1000
    for edge in (999, 998, 900, 500):
        contributions[edge] = 0.5
    problem = SumOfSquaresProblem(contributions)
    curve = faithfulness_curve(problem, torch.arange(1000, dtype=torch.float32))

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


def test_small_graph_keeps_at_least_one_edge_and_negative_faithfulness_counts() -> None:
    # 10 edges: k% of 10 rounds to 0 below 10%, but every grid point keeps at least one edge:
    # counts 1 (seven grid points), 2, 5, 10: each distinct count is evaluated once, at its true
    # fraction of the edges (.1, .2, .5, 1).
    # All contributions go to ONE output coordinate: D(C) = (sum of a over the edges left out)^2.
    # The top-scored edge (index 7, score .9) has a = -1, the second (index 2, score .8) has a = 3:
    # D(empty) = (3 - 1)^2 = 4; keeping only edge 7 leaves 3 out: D = 9, f = 1 - 9/4 = -1.25 (worse
    # than empty); keeping both: D = 0, f = 1.
    contributions = [0.0] * 10
    contributions[7] = -1.0
    contributions[2] = 3.0
    scores = torch.tensor([0.1, 0.2, 0.8, 0.3, 0.0, 0.5, 0.4, 0.9, 0.6, 0.7])
    problem = SumOfSquaresProblem(contributions, one_coordinate=True)
    curve = faithfulness_curve(problem, scores)

    assert problem.calls == [0, 1, 2, 5, 10]
    assert curve.edge_counts == [1, 2, 5, 10] and curve.sizes_percent == [10.0, 20.0, 50.0, 100.0]
    assert curve.faithfulness == [-1.25, 1.0, 1.0, 1.0]
    # CPR: .1*(0 - 1.25)/2 + .1*(-1.25 + 1)/2 + .3*1 + .5*1 = -.0625 - .0125 + .8 = .725
    assert curve.cpr == pytest.approx(0.725, abs=1e-12)
    # CMD: |1 - f| = 1, 2.25, 0, 0, 0: .1*(1 + 2.25)/2 + .1*(2.25 + 0)/2 = .1625 + .1125 = .275
    assert curve.cmd == pytest.approx(0.275, abs=1e-12)


# Equal scores: the sort is stable. With the only edge that matters at index 0 it comes first, so
# f = 1 at every size: CPR = .001*(0 + 1)/2 + .999*1 = .9995, CMD = .001*(1 + 0)/2 = .0005. At the
# last index it is the last kept, so f = 0 until 100%: CPR = .5*(0 + 1)/2 = .25;
# CMD = .5*1 + .5*(1 + 0)/2 = .75.
@pytest.mark.parametrize(
    ("index", "faithfulness", "cpr", "cmd"),
    [(0, [1.0] * 10, 0.9995, 0.0005), (999, [0.0] * 9 + [1.0], 0.25, 0.75)],
)
def test_ties_keep_index_order(index: int, faithfulness: list[float], cpr: float, cmd: float) -> None:
    contributions = [0.0] * 1000
    contributions[index] = 1.0
    curve = faithfulness_curve(SumOfSquaresProblem(contributions), torch.zeros(1000))
    assert curve.faithfulness == faithfulness
    assert curve.cpr == pytest.approx(cpr, abs=1e-12)
    assert curve.cmd == pytest.approx(cmd, abs=1e-12)


def test_model_unchanged_by_ablation_is_fully_faithful_everywhere() -> None:
    # D(empty) = 0 (no edge matters): every size is defined as f = 1; only f(0) = 0 is below it.
    curve = faithfulness_curve(SumOfSquaresProblem([0.0] * 1000), torch.rand(1000))
    assert curve.faithfulness == [1.0] * 10
    assert curve.cpr == pytest.approx(0.9995, abs=1e-12)
    assert curve.cmd == pytest.approx(0.0005, abs=1e-12)


def test_to_dict() -> None:
    curve = faithfulness_curve(SumOfSquaresProblem([0.0] * 1000), torch.zeros(1000))
    data = curve.to_dict()
    assert set(data) == {"edge_counts", "sizes_percent", "faithfulness", "cpr", "cmd"}
    assert data["faithfulness"] == [1.0] * 10


# ------------------------------------------------------------------------------- real model


@pytest.fixture(scope="module")
def case3_problem(cache_dir: Path):
    from circuits_benchmark.discovery.settings import MethodSettings
    from circuits_benchmark.models.registry import load_benchmark_model
    from circuits_benchmark.runs import RunConfig, build_problem

    model = load_benchmark_model("tracr:3", cache_dir)
    return build_problem(model, RunConfig("acdc", "tracr:3", MethodSettings(), n_examples=40, seed=0))


def _ground_truth_scores(problem) -> torch.Tensor:
    truth = set(problem.benchmark_model.ground_truths["resample"].edges)
    return torch.tensor([1.0 if edge in truth else 0.0 for edge in problem.patchable.layout.edges()])


def test_real_model_full_circuit_is_faithful_and_ground_truth_first_gives_the_hand_areas(case3_problem) -> None:
    problem = case3_problem
    # Preconditions the hand values below rest on: 23 q/k/v-level edges, a 3-edge resample ground
    # truth (embed -> m0 -> a1.h0.v, a1.h0 -> output) that is a chain, so any 2 of its edges leave the
    # output exactly as the empty circuit's.
    assert problem.n_edges == 23
    scores = _ground_truth_scores(problem)
    assert int(scores.sum()) == 3
    with torch.no_grad():
        assert torch.equal(problem.run(problem.masks(1.0)), problem.batch.reference)  # full circuit: D = 0

    curve = faithfulness_curve(problem, scores)
    # Counts max(1, round(23 k / 100)): 1 (six grid points), 2, 5, 12, 23: evaluated once each, at
    # fractions 1/23, 2/23, 5/23, 12/23, 1. With the 3 ground-truth edges first: f = 0 while at
    # most 2 are kept, f = 1 from 5 edges on.
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
    # Ground-truth edges scored lowest: at 12 edges (of the 20 others) nothing of the chain is
    # kept, so f = 0 up to there and 1 at all 23. CPR = (11/23)(0 + 1)/2 = 5.5/23;
    # CMD = 12/23 + (11/23)(1 + 0)/2 = 17.5/23.
    curve = faithfulness_curve(case3_problem, -_ground_truth_scores(case3_problem))
    assert curve.faithfulness == pytest.approx([0.0] * 4 + [1.0], abs=1e-6)
    assert curve.cpr == pytest.approx(5.5 / 23, abs=1e-6)
    assert curve.cmd == pytest.approx(17.5 / 23, abs=1e-6)
