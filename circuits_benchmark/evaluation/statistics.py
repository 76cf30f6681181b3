"""Comparing methods' scores across models.

The leaderboard compares two methods on the models both ran on, so its test is paired: the paired
permutation test below, with the paired win rate as effect size, and a bootstrap confidence
interval for each method's mean. The unpaired Wilcoxon-Mann-Whitney test and the Vargha-Delaney
A12 (as the InterpBench paper uses them) are kept for unpaired samples.

Paired permutation test. On the models both methods ran on, d_i = a_i - b_i. Under the null
hypothesis that the two methods are exchangeable on every model, each d_i is as likely to have
either sign, so the statistic |sum d_i| is compared with its distribution over all 2^m sign flips of
the m non-zero differences: exact for m <= EXACT_SIGN_FLIPS, else estimated from
PERMUTATION_DRAWS random flips with a fixed seed. Chosen over Wilcoxon's signed-rank test because
AUROCs tie constantly (many methods reach 1.0 on a model): zero differences simply drop out, tied
magnitudes need no correction, and the p-value is exact for the suite sizes used here. All
differences zero: p = 1.

Paired win rate: the share of shared models on which the first method scores higher, ties counting
half (0.5: no difference). Bootstrap interval: the 2.5th and 97.5th percentiles of the mean over
BOOTSTRAP_DRAWS resamples of the models with replacement (fixed seed).

Mann-Whitney U. U1 counts, over all pairs (a_i, b_j), 1 when a_i > b_j and 1/2 when they tie. The
two-sided p-value is exact (the permutation distribution of U, counted by recurrence) when there
are no ties and n1 * n2 <= EXACT_LIMIT; otherwise it is the normal approximation with the tie
correction of the variance and a continuity correction of 1/2. Scores such as AUROC tie often (many
methods reach 1.0), so the approximation is the usual case here. When every value ties, p = 1.

A12 = U1 / (n1 * n2): the probability that a random case of the first sample scores higher than
one of the second, ties counting half. 0.5 means no difference; Vargha and Delaney call the
distance from 0.5 negligible below 0.06, small below 0.14, medium below 0.21, large above.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Sequence

import numpy as np

EXACT_LIMIT = 10_000
EXACT_SIGN_FLIPS = 16
PERMUTATION_DRAWS = 20_000
BOOTSTRAP_DRAWS = 2_000
STATISTICS_SEED = 0
# Upper bounds of |A12 - 0.5| for negligible, small and medium effects (Vargha and Delaney 2000).
A12_MAGNITUDES = ((0.06, "negligible"), (0.14, "small"), (0.21, "medium"))


@dataclasses.dataclass(frozen=True)
class MannWhitney:
    """A Mann-Whitney test: U of the first sample, two-sided p-value, and how p was computed."""

    u: float
    p_value: float
    method: str  # "exact" or "asymptotic"


def mann_whitney_u(first: Sequence[float], second: Sequence[float]) -> MannWhitney:
    """Two-sided Wilcoxon-Mann-Whitney test of two samples; raises ValueError if one is empty."""
    a, b = np.asarray(first, dtype=float), np.asarray(second, dtype=float)
    n1, n2 = len(a), len(b)
    if n1 == 0 or n2 == 0:
        raise ValueError("Mann-Whitney U needs two non-empty samples")
    u1 = _u_statistic(a, b)
    _, tie_counts = np.unique(np.concatenate([a, b]), return_counts=True)
    if (tie_counts == 1).all() and n1 * n2 <= EXACT_LIMIT:
        counts = _u_distribution(n1, n2)
        below = counts[: int(u1) + 1].sum() / counts.sum()
        above = counts[int(u1) :].sum() / counts.sum()
        return MannWhitney(u1, float(min(1.0, 2 * min(below, above))), "exact")
    n = n1 + n2
    variance = n1 * n2 / 12 * ((n + 1) - float((tie_counts**3 - tie_counts).sum()) / (n * (n - 1)))
    if variance <= 0:
        return MannWhitney(u1, 1.0, "asymptotic")
    z = max(0.0, abs(u1 - n1 * n2 / 2) - 0.5) / math.sqrt(variance)
    return MannWhitney(u1, min(1.0, math.erfc(z / math.sqrt(2))), "asymptotic")


def vargha_delaney_a12(first: Sequence[float], second: Sequence[float]) -> float:
    """P(a random value of `first` > one of `second`) + P(tie) / 2; raises ValueError if one is empty."""
    a, b = np.asarray(first, dtype=float), np.asarray(second, dtype=float)
    if len(a) == 0 or len(b) == 0:
        raise ValueError("A12 needs two non-empty samples")
    return _u_statistic(a, b) / (len(a) * len(b))


def a12_magnitude(a12: float) -> str:
    """Vargha and Delaney's name for the size of an effect: negligible, small, medium or large."""
    distance = abs(a12 - 0.5)
    return next((name for bound, name in A12_MAGNITUDES if distance < bound), "large")


@dataclasses.dataclass(frozen=True)
class PairedComparison:
    """Two methods on the models both ran on: how many, the paired win rate of the first, the mean
    difference (first minus second) and the two-sided p-value of the paired permutation test."""

    models: int
    win_rate: float
    mean_difference: float
    p_value: float
    method: str  # "exact" or "sampled"


def paired_permutation_test(first: Sequence[float], second: Sequence[float]) -> PairedComparison:
    """The paired test of two equally long score lists (index i: the same model); raises ValueError
    when they are empty or of different lengths."""
    a, b = np.asarray(first, dtype=float), np.asarray(second, dtype=float)
    if len(a) == 0 or len(a) != len(b):
        raise ValueError("a paired test needs two non-empty score lists of the same length")
    differences = a - b
    win_rate = float(((differences > 0).sum() + 0.5 * (differences == 0).sum()) / len(differences))
    nonzero = differences[differences != 0]
    if len(nonzero) == 0:
        return PairedComparison(len(a), win_rate, 0.0, 1.0, "exact")
    observed = abs(nonzero.sum())
    if len(nonzero) <= EXACT_SIGN_FLIPS:
        codes = np.arange(2 ** len(nonzero))[:, None]
        signs = 1 - 2 * ((codes >> np.arange(len(nonzero))) & 1)
        method = "exact"
    else:
        signs = np.random.default_rng(STATISTICS_SEED).choice([-1, 1], size=(PERMUTATION_DRAWS, len(nonzero)))
        method = "sampled"
    totals = np.abs(signs @ nonzero)
    # A relative tolerance: sums of the same values in another order may differ in the last bits.
    extreme = int((totals >= observed * (1 - 1e-12)).sum())
    # Sampled: (extreme + 1) / (draws + 1), which never claims p = 0 from a finite sample.
    p_value = extreme / len(totals) if method == "exact" else (extreme + 1) / (len(totals) + 1)
    return PairedComparison(len(a), win_rate, float(differences.mean()), float(p_value), method)


def bootstrap_interval(values: Sequence[float], level: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean; raises ValueError for no values."""
    data = np.asarray(values, dtype=float)
    if len(data) == 0:
        raise ValueError("a bootstrap interval needs at least one value")
    rng = np.random.default_rng(STATISTICS_SEED)
    means = data[rng.integers(len(data), size=(BOOTSTRAP_DRAWS, len(data)))].mean(axis=1)
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    return float(low), float(high)


def _u_statistic(a: np.ndarray, b: np.ndarray) -> float:
    """Pairs where a wins, ties counting half."""
    difference = a[:, None] - b[None, :]
    return float((difference > 0).sum() + 0.5 * (difference == 0).sum())


def _u_distribution(n1: int, n2: int) -> np.ndarray:
    """counts[u] = number of orderings of n1 + n2 distinct values in which U1 = u.

    Recurrence on the largest value: it belongs to the first sample (beating all n2 of the second,
    U shifts by n2) or to the second (U unchanged): f(i, j, u) = f(i - 1, j, u - j) + f(i, j - 1, u).
    """
    # With either sample empty there is one ordering, with U = 0.
    table = [[np.ones(1) for _ in range(n2 + 1)] for _ in range(n1 + 1)]
    for i in range(1, n1 + 1):
        for j in range(1, n2 + 1):
            counts = np.zeros(i * j + 1)
            counts[j : j + len(table[i - 1][j])] += table[i - 1][j]
            counts[: len(table[i][j - 1])] += table[i][j - 1]
            table[i][j] = counts
    return table[n1][n2]
