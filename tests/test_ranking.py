"""Fair ranking and paired statistics (`leaderboard.summary`, `evaluation.statistics`) on
hand-made results whose right answers are worked out in the comments."""

from __future__ import annotations

import itertools

import pytest

from circuits_benchmark.evaluation.statistics import bootstrap_interval, paired_permutation_test
from circuits_benchmark.leaderboard.summary import SeriesResult, combine_seeds, common_models, method_summaries


def result(label: str, model: str, edge: float, source: str = "bench", seed: int = 42, cost: float | None = 1.0) -> SeriesResult:
    return SeriesResult(
        label=label, source=source, model_id=model, model_kind="tracr", case_id=int(model.split(":")[1]),
        ablation="resample", points=1, roc_source="ranking", edge_roc=[], node_roc=[], edge_auroc=edge,
        node_auroc=edge, cpr=None, cmd=None, wall_time_s=1.0, seed=seed, cost_s=cost, positives=3, candidates=15,
    )


def test_ties_share_a_rank_and_a_partial_method_is_listed_apart() -> None:
    models = ["tracr:3", "tracr:4", "tracr:21"]
    series = [result("a", m, 1.0) for m in models] + [result("b", m, 1.0) for m in models]
    series += [result("c", m, v) for m, v in zip(models, [1.0, 0.5, 0.9])]
    # A submission on one model, where it scores 1.0: it must not be ranked against nine-model means.
    series.append(result("mine", "tracr:3", 1.0, source="submission", cost=None))
    common = common_models(series)
    assert common == set(models)
    summaries = method_summaries(series, common)
    assert [(s.label, s.rank, s.models) for s in summaries] == [("a", 1, 3), ("b", 1, 3), ("c", 3, 3), ("mine", None, 1)]
    assert summaries[2].edge_auroc_mean == pytest.approx(0.8)
    assert summaries[3].cost_median_s is None  # a submission without reported seconds has no cost


def test_a_submission_covering_the_common_models_is_ranked_over_exactly_those() -> None:
    series = [result("a", m, 0.9) for m in ("tracr:3", "tracr:4")]
    # The submission also ran on a model the built-in methods did not: that one does not count.
    series += [result("mine", m, v, source="submission", cost=2.0) for m, v in (("tracr:3", 1.0), ("tracr:4", 1.0), ("tracr:5", 0.0))]
    summaries = method_summaries(series, common_models(series))
    assert [(s.label, s.rank, s.models, s.edge_auroc_mean, s.cost_median_s) for s in summaries] == [
        ("mine", 1, 2, 1.0, 2.0), ("a", 2, 2, 0.9, 1.0)
    ]


def test_seeds_become_one_result_with_their_spread() -> None:
    series = [result("random", "tracr:3", v, seed=s) for s, v in ((42, 0.4), (43, 0.6), (44, 0.5))]
    (combined,) = combine_seeds(series)
    assert (combined.seeds, combined.edge_auroc, combined.seed) == (3, pytest.approx(0.5), 42)
    # population standard deviation of .4, .6, .5: sqrt((.01 + .01 + 0) / 3)
    assert combined.edge_auroc_spread == pytest.approx((0.02 / 3) ** 0.5)


def test_paired_permutation_test_counts_every_sign_flip() -> None:
    # Differences .5, 0, .2, 0: the zeros drop out; the 4 sign patterns of (.5, .2) give |sum| =
    # .7, .3, .3, .7, so p = P(|sum| >= .7) = 2/4. Win rate: 2 wins and 2 ties of 4 = (2 + 1) / 4.
    test = paired_permutation_test([1.0, 1.0, 1.0, 0.9], [0.5, 1.0, 0.8, 0.9])
    assert (test.models, test.win_rate, test.p_value, test.method) == (4, 0.75, 0.5, "exact")
    assert test.mean_difference == pytest.approx(0.175)
    # Brute force over every sign pattern of six differences.
    first, second = [0.9, 0.8, 1.0, 0.7, 0.95, 0.6], [0.5, 0.9, 0.4, 0.7, 0.5, 0.65]
    differences = [a - b for a, b in zip(first, second) if a != b]
    observed = abs(sum(differences))
    flips = [abs(sum(s * d for s, d in zip(signs, differences))) for signs in itertools.product((1, -1), repeat=len(differences))]
    assert paired_permutation_test(first, second).p_value == pytest.approx(sum(f >= observed - 1e-12 for f in flips) / len(flips))


def test_paired_test_edge_cases() -> None:
    assert paired_permutation_test([1.0, 1.0], [1.0, 1.0]).p_value == 1.0  # no difference at all
    sampled = paired_permutation_test([1.0] * 20, [0.5] * 20)  # 20 non-zero differences: sampled
    assert sampled.method == "sampled" and 0 < sampled.p_value < 0.001 and sampled.win_rate == 1.0
    with pytest.raises(ValueError):
        paired_permutation_test([1.0], [1.0, 0.5])


def test_bootstrap_interval_of_the_mean() -> None:
    assert bootstrap_interval([0.7]) == (0.7, 0.7)  # one value: nothing varies
    low, high = bootstrap_interval([0.5, 1.0, 1.0, 1.0])
    assert 0.5 <= low < 0.875 < high <= 1.0  # around the mean .875, inside the values' range
    assert bootstrap_interval([0.5, 1.0, 1.0, 1.0]) == (low, high)  # seeded: the same every time
