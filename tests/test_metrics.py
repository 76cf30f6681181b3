"""Output distances and attribution objectives on small inputs whose values were worked out by hand."""

from __future__ import annotations

import math

import pytest
import torch

from circuits_benchmark.discovery.metric_registry import METRICS, default_metric, parse_metric, register_metric
from circuits_benchmark.discovery.metrics import attribution_objective, output_distance
from circuits_benchmark.errors import BenchmarkError


def t(values) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float64)


# ---------------------------------------------------------------------------------------- L2


def test_l2_is_the_weighted_mean_of_squared_errors_and_ignores_zero_weight_positions() -> None:
    # One input, three positions, two output dims; clean is all zeros.
    # Squared errors per position: 1+4 = 5, 0+9 = 9, 100+100 = 200 (weight 0: must not count).
    patched = t([[[1.0, 2.0], [0.0, 3.0], [10.0, 10.0]]])
    clean = torch.zeros_like(patched)
    assert output_distance("l2", patched, clean, t([[1.0, 1.0, 0.0]])).item() == pytest.approx(7.0)  # (5+9)/2
    # Weights 1 and 3: (1*5 + 3*9) / 4 = 8.
    assert output_distance("l2", patched, clean, t([[1.0, 3.0, 0.0]])).item() == pytest.approx(8.0)


def test_l2_averages_over_the_batch_too() -> None:
    # Two inputs, one position, one dim: errors (3-1)^2 = 4 and (0-5)^2 = 25, equal weights: 14.5.
    patched = t([[[3.0]], [[0.0]]])
    clean = t([[[1.0]], [[5.0]]])
    assert output_distance("l2", patched, clean, t([[1.0], [1.0]])).item() == pytest.approx(14.5)
    # Second input at weight 0: only 4 remains.
    assert output_distance("l2", patched, clean, t([[1.0], [0.0]])).item() == pytest.approx(4.0)


# ---------------------------------------------------------------------------------------- KL


def test_kl_of_identical_logits_is_zero() -> None:
    logits = t([[[0.3, -1.2, 2.0], [5.0, 0.0, -5.0]]])
    weights = t([[1.0, 1.0]])
    assert output_distance("kl", logits, logits, weights).item() == pytest.approx(0.0, abs=1e-12)
    # Softmax ignores a constant shift of the logits: still zero.
    assert output_distance("kl", logits + 7.0, logits, weights).item() == pytest.approx(0.0, abs=1e-12)


def test_kl_two_class_example_by_hand() -> None:
    # clean logits [0, 0] -> p = (1/2, 1/2); patched logits [ln 3, 0] -> q = (3/4, 1/4).
    # KL(p || q) = 1/2 ln((1/2)/(3/4)) + 1/2 ln((1/2)/(1/4)) = 1/2 ln(2/3) + 1/2 ln 2 = 1/2 ln(4/3) = 0.1438410...
    clean = t([[[0.0, 0.0]]])
    patched = t([[[math.log(3.0), 0.0]]])
    value = output_distance("kl", patched, clean, t([[1.0]])).item()
    assert value == pytest.approx(0.5 * math.log(4.0 / 3.0), rel=1e-12)
    assert value == pytest.approx(0.14384103622589045, rel=1e-12)
    # The direction is KL(clean || patched): the reverse, KL(q || p) = 3/4 ln(3/2) - 1/4 ln 2 = 0.1308120...,
    # is a different number, so swapping the arguments must change the result.
    reverse = output_distance("kl", clean, patched, t([[1.0]])).item()
    assert reverse == pytest.approx(0.75 * math.log(1.5) - 0.25 * math.log(2.0), rel=1e-12)
    assert reverse != pytest.approx(value)


def test_kl_is_averaged_over_weighted_positions_only() -> None:
    # Position 0: the two-class example above (1/2 ln(4/3)); position 1: identical logits (0);
    # position 2: wildly different logits, weight 0. Mean over the two counted positions: 1/4 ln(4/3).
    clean = t([[[0.0, 0.0], [1.0, 2.0], [20.0, -20.0]]])
    patched = t([[[math.log(3.0), 0.0], [1.0, 2.0], [-20.0, 20.0]]])
    value = output_distance("kl", patched, clean, t([[1.0, 1.0, 0.0]])).item()
    assert value == pytest.approx(0.25 * math.log(4.0 / 3.0), rel=1e-12)


# ------------------------------------------------------------------------- attribution objective


def test_attribution_objective_kl_is_the_log_probability_of_the_clean_prediction() -> None:
    # Position 0: clean predicts class 1; patched [0, ln 3] gives it probability 3/4.
    # Position 1: clean predicts class 0; patched [0, ln 3] gives it probability 1/4.
    # Position 2: weight 0. Mean: (ln 3/4 + ln 1/4) / 2 = ln(3/16) / 2 = -0.8369882...
    clean = t([[[0.0, 5.0], [2.0, 0.0], [0.0, 9.0]]])
    patched = t([[[0.0, math.log(3.0)], [0.0, math.log(3.0)], [100.0, 0.0]]])
    corrupted = torch.zeros_like(clean)  # unused by the categorical objective
    value = attribution_objective("kl", patched, clean, corrupted, t([[1.0, 1.0, 0.0]])).item()
    assert value == pytest.approx(0.5 * math.log(3.0 / 16.0), rel=1e-12)


def test_attribution_objective_l2_projects_onto_clean_minus_corrupted() -> None:
    # Position 0: patched [1, 2] . (clean [3, 1] - corrupted [1, 1] = [2, 0]) = 2, weight 1.
    # Position 1: patched [0, 1] . ([0, 4] - [0, 1] = [0, 3]) = 3, weight 2.
    # Position 2: weight 0. Weighted mean: (1*2 + 2*3) / 3 = 8/3.
    patched = t([[[1.0, 2.0], [0.0, 1.0], [50.0, 50.0]]])
    clean = t([[[3.0, 1.0], [0.0, 4.0], [9.0, 9.0]]])
    corrupted = t([[[1.0, 1.0], [0.0, 1.0], [0.0, 0.0]]])
    value = attribution_objective("l2", patched, clean, corrupted, t([[1.0, 2.0, 0.0]])).item()
    assert value == pytest.approx(8.0 / 3.0, rel=1e-12)


def test_attribution_objective_has_a_gradient_at_the_clean_point_where_kl_has_none() -> None:
    # At patched = clean = [0, ln 3] (q = (1/4, 3/4), clean prediction class 1):
    # d/dz log softmax(z)_1 = onehot(1) - q = [-1/4, 1/4]; KL's gradient there is exactly 0.
    clean = t([[[0.0, math.log(3.0)]]])
    weights = t([[1.0]])
    patched = clean.clone().requires_grad_(True)
    attribution_objective("kl", patched, clean, torch.zeros_like(clean), weights).backward()
    assert torch.allclose(patched.grad, t([[[-0.25, 0.25]]]), atol=1e-12)

    patched = clean.clone().requires_grad_(True)
    output_distance("kl", patched, clean, weights).backward()
    assert torch.allclose(patched.grad, torch.zeros_like(clean), atol=1e-12)


# ----------------------------------------------------------------------------------- errors


@pytest.mark.parametrize("function", ["output_distance", "attribution_objective"])
def test_unknown_metric_is_an_error_naming_the_choices(function: str) -> None:
    x = t([[[0.0, 1.0]]])
    weights = t([[1.0]])
    with pytest.raises(BenchmarkError, match=r"unknown metric 'cosine': use one of kl, l2, logprob, logit_diff"):
        if function == "output_distance":
            output_distance("cosine", x, x, weights)
        else:
            attribution_objective("cosine", x, x, x, weights)


def test_metric_names_and_defaults() -> None:
    assert list(METRICS) == ["kl", "l2", "logprob", "logit_diff"]
    assert parse_metric("kl") == "kl" and default_metric("categorical") == "kl" and default_metric("numerical") == "l2"


def test_logprob_and_logit_difference_by_hand() -> None:
    # Two classes. Clean logits (ln 3, 0): p = (3/4, 1/4), answer class 0. Patched (0, 0): p = (1/2, 1/2).
    # logprob drop: ln(3/4) - ln(1/2) = ln(3/2).
    clean, patched, weights = t([[[math.log(3.0), 0.0]]]), t([[[0.0, 0.0]]]), t([[1.0]])
    assert output_distance("logprob", patched, clean, weights).item() == pytest.approx(math.log(1.5), rel=1e-12)
    assert output_distance("logprob", clean, clean, weights).item() == pytest.approx(0.0, abs=1e-12)
    # Corrupted answer class 1: clean logit difference ln 3 - 0; patched 0 - 0: the drop is ln 3.
    corrupted = t([[[0.0, 2.0]]])
    assert output_distance("logit_diff", patched, clean, weights, corrupted).item() == pytest.approx(math.log(3.0), rel=1e-12)
    assert attribution_objective("logit_diff", clean, clean, corrupted, weights).item() == pytest.approx(math.log(3.0), rel=1e-12)


def test_a_user_metric_registers_by_name() -> None:
    # Mean absolute change of the first output, by hand: |2 - 0| = 2 at weight 1, 5 at weight 0.
    def first_output_change(patched, clean, corrupted, weights):
        return ((patched[..., 0] - clean[..., 0]).abs() * weights).sum() / weights.sum()

    register_metric("first-abs", first_output_change, description="|change| of output 0")
    try:
        clean, patched = t([[[0.0], [0.0]]]), t([[[2.0], [5.0]]])
        assert output_distance("first-abs", patched, clean, t([[1.0, 0.0]])).item() == pytest.approx(2.0)
        # Without its own objective, gradient methods use the negative distance.
        assert attribution_objective("first-abs", patched, clean, clean, t([[1.0, 0.0]])).item() == pytest.approx(-2.0)
    finally:
        METRICS.pop("first-abs")
