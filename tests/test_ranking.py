"""Fair ranking and paired statistics (`leaderboard.summary`, `evaluation.statistics`) on
hand-made results whose right answers are worked out in the comments."""

from __future__ import annotations

import itertools

import pytest

from circuits_benchmark.evaluation.statistics import (
    EXACT_SIGN_FLIPS,
    PERMUTATION_DRAWS,
    bootstrap_interval,
    holm_adjusted,
    paired_permutation_test,
)
from circuits_benchmark.leaderboard.summary import SeriesResult, combine_seeds, common_models, comparisons, method_summaries


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
    assert combined.seed_values["edge_auroc"] == [0.4, 0.6, 0.5]


def test_intervals_hold_the_variance_from_data_seeds() -> None:
    """Two models on which a method's mean over seeds is the same, .5 and .7: with one seed each the
    interval only spans the two models; with seeds that disagree widely it is wider."""
    steady = [result("m", "tracr:3", 0.5), result("m", "tracr:4", 0.7)]
    noisy = [result("m", "tracr:3", v, seed=s) for s, v in ((42, 0.0), (43, 1.0), (44, 0.5))]
    noisy += [result("m", "tracr:4", v, seed=s) for s, v in ((42, 0.2), (43, 1.0), (44, 0.9))]
    (steady_summary,), (noisy_summary,) = (method_summaries(combine_seeds(s), {"tracr:3", "tracr:4"}) for s in (steady, noisy))
    assert steady_summary.edge_auroc_mean == pytest.approx(noisy_summary.edge_auroc_mean)
    (low, high), (noisy_low, noisy_high) = steady_summary.edge_auroc_interval, noisy_summary.edge_auroc_interval
    assert 0.5 <= low and high <= 0.7
    assert noisy_low < low - 0.1 and noisy_high > high + 0.1


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


def test_the_exact_test_reaches_far_and_the_sampled_one_states_its_floor() -> None:
    """m equal differences: only the two flips with all signs alike are as extreme, p = 2 / 2^m,
    exact up to EXACT_SIGN_FLIPS differences (17 once jumped to a sampled 1.5e-4). Past that the
    Monte Carlo p is (b + 1) / (N + 1): here no draw is as extreme, so p is the floor, marked."""
    for m in (17, 20, EXACT_SIGN_FLIPS):
        test = paired_permutation_test([1.0] * m, [0.5] * m)
        assert (test.method, test.p_value, test.at_floor) == ("exact", pytest.approx(2 / 2**m, rel=1e-9), False)
    sampled = paired_permutation_test([1.0] * (EXACT_SIGN_FLIPS + 1), [0.5] * (EXACT_SIGN_FLIPS + 1))
    assert sampled.method == "sampled" and sampled.win_rate == 1.0
    assert sampled.p_value == sampled.floor == pytest.approx(1 / (PERMUTATION_DRAWS + 1)) and sampled.at_floor
    # Against brute force on 12 differences with ties among their sizes (exact by halves).
    first = [0.9, 0.8, 1.0, 0.7, 0.95, 0.6, 0.3, 0.9, 0.55, 1.0, 0.2, 0.75]
    second = [0.5, 0.9, 0.4, 0.6, 0.5, 0.65, 0.7, 0.5, 0.6, 0.6, 0.1, 0.35]
    differences = [a - b for a, b in zip(first, second)]
    observed = abs(sum(differences))
    flips = [abs(sum(s * d for s, d in zip(signs, differences))) for signs in itertools.product((1, -1), repeat=len(differences))]
    assert paired_permutation_test(first, second).p_value == pytest.approx(sum(f >= observed - 1e-12 for f in flips) / len(flips))


def test_paired_test_edge_cases() -> None:
    assert paired_permutation_test([1.0, 1.0], [1.0, 1.0]).p_value == 1.0  # no difference at all
    with pytest.raises(ValueError):
        paired_permutation_test([1.0], [1.0, 0.5])


def test_holm_correction_by_hand_and_on_a_table() -> None:
    # Sorted .01, .03, .04, .5 times 4, 3, 2, 1: .04, .09, .08, .5; made monotone: .04, .09, .09, .5.
    assert holm_adjusted([0.01, 0.04, 0.03, 0.5]) == pytest.approx([0.04, 0.09, 0.09, 0.5])
    assert holm_adjusted([0.9, 0.6]) == [1.0, 1.0]  # capped at 1
    # Three methods, three pairs: each raw p is exact, each shown p Holm-adjusted, both directions alike.
    models = [f"tracr:{i}" for i in range(1, 8)]
    series = [result("a", m, 1.0) for m in models] + [result("b", m, 0.5) for m in models]
    series += [result("c", m, v) for m, v in zip(models, [1.0, 0.4, 1.0, 0.6, 1.0, 0.5, 1.0])]
    table = comparisons(series, ["a", "b", "c"], "edge_auroc")
    raw = {pair: table[pair].p_value for pair in (("a", "b"), ("a", "c"), ("b", "c"))}
    assert raw["a", "b"] == pytest.approx(2 / 2**7)
    assert [table[pair].adjusted_p_value for pair in raw] == pytest.approx(holm_adjusted(list(raw.values())))
    assert table["b", "a"].adjusted_p_value == table["a", "b"].adjusted_p_value
    assert table["b", "a"].win_rate == 1 - table["a", "b"].win_rate == 0.0


def test_bootstrap_interval_of_the_mean() -> None:
    assert bootstrap_interval([0.7]) == (0.7, 0.7)  # one value: nothing varies
    low, high = bootstrap_interval([0.5, 1.0, 1.0, 1.0])
    assert 0.5 <= low < 0.875 < high <= 1.0  # around the mean .875, inside the values' range
    assert bootstrap_interval([0.5, 1.0, 1.0, 1.0]) == (low, high)  # seeded: the same every time
