"""Comparing methods' scores across models.

The leaderboard compares two methods on the models both ran on, so its test is paired: the paired
permutation test below, with the paired win rate as effect size, and a bootstrap confidence
interval for each method's mean. The unpaired Wilcoxon-Mann-Whitney test and the Vargha-Delaney
A12 (as the InterpBench paper uses them) are kept for unpaired samples.

Paired permutation test. On the models both methods ran on, d_i = a_i - b_i. Under the null
hypothesis that the two methods are exchangeable on every model, each d_i is as likely to have
either sign, so the statistic |sum d_i| is compared with its distribution over all 2^m sign flips of
the m non-zero differences. Up to EXACT_SIGN_FLIPS (40) differences the count is exact and cheap:
the differences are split in two halves, every signed sum of each half is listed (at most 2^20),
and for each sum of the first half the sums of the second that make |total| at least the observed
one are counted by binary search in the sorted list. Past that (only the full suite has more
models), PERMUTATION_DRAWS (100,000) random flips with a fixed seed give a Monte Carlo
p = (b + 1) / (N + 1), b the draws at least as extreme: never 0, and never below its floor
1 / (N + 1) ~ 1e-5, which tables show as "<=" the floor when no draw was as extreme (a bound, not
an exact value). Chosen over Wilcoxon's signed-rank test
because AUROCs tie constantly (many methods reach 1.0 on a model): zero differences simply drop
out, tied magnitudes need no correction. All differences zero: p = 1.

Holm's correction. A leaderboard table compares every pair of methods, K = n (n - 1) / 2 tests at
once; `holm_adjusted` raises the K p-values by Holm's step-down rule (the i-th smallest times
K - i + 1, made monotone, capped at 1), which bounds the family-wise error rate at the level read
off, with no assumption about how the tests depend on each other.

Paired win rate: the share of shared models on which the first method scores higher, ties counting
half (0.5: no difference). Bootstrap interval: the 2.5th and 97.5th percentiles of the mean over
BOOTSTRAP_DRAWS resamples (fixed seed) of the models with replacement and, where a model has values
from several data seeds, of its seeds within each drawn model, so that the interval holds the
variance from the data as well as that across models.

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
EXACT_SIGN_FLIPS = 40
PERMUTATION_DRAWS = 100_000
# Sign flips drawn at once: 2^16 rows of at most a few hundred differences stay small in memory.
DRAW_CHUNK = 2**16
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
    difference (first minus second), the two-sided p-value of the paired permutation test, how it
    was computed ("exact" or "sampled"; a sampled p is at least `floor`), and the p-value after
    Holm's correction across its table (None until `holm_adjusted` has been applied)."""

    models: int
    win_rate: float
    mean_difference: float
    p_value: float
    method: str
    floor: float = 0.0
    adjusted_p_value: float | None = None

    @property
    def at_floor(self) -> bool:
        """Whether the p-value is a sampling floor (no draw as extreme), an upper bound only."""
        return self.method == "sampled" and self.p_value <= self.floor


def paired_permutation_test(first: Sequence[float], second: Sequence[float]) -> PairedComparison:
    """The paired test of two equally long score lists (index i: the same model); raises ValueError
    when they are empty or of different lengths."""
    a, b = np.asarray(first, dtype=float), np.asarray(second, dtype=float)
    if len(a) == 0 or len(a) != len(b):
        raise ValueError("a paired test needs two non-empty score lists of the same length")
    differences = a - b
    win_rate = float(((differences > 0).sum() + 0.5 * (differences == 0).sum()) / len(differences))
    nonzero = differences[differences != 0]
    mean_difference = float(differences.mean())
    if len(nonzero) == 0:
        return PairedComparison(len(a), win_rate, 0.0, 1.0, "exact")
    # A relative tolerance: sums of the same values in another order may differ in the last bits.
    threshold = abs(nonzero.sum()) * (1 - 1e-12)
    if len(nonzero) <= EXACT_SIGN_FLIPS:
        return PairedComparison(len(a), win_rate, mean_difference, _exact_sign_flip_p(nonzero, threshold), "exact")
    rng = np.random.default_rng(STATISTICS_SEED)
    extreme = 0
    for start in range(0, PERMUTATION_DRAWS, DRAW_CHUNK):
        bits = rng.integers(0, 2, size=(min(DRAW_CHUNK, PERMUTATION_DRAWS - start), len(nonzero)), dtype=np.int8)
        extreme += int((np.abs((1.0 - 2.0 * bits) @ nonzero) >= threshold).sum())
    floor = 1 / (PERMUTATION_DRAWS + 1)
    return PairedComparison(len(a), win_rate, mean_difference, (extreme + 1) * floor, "sampled", floor)


def _signed_sums(values: np.ndarray) -> np.ndarray:
    """Every sum of +-v over `values`: 2^len(values) of them."""
    sums = np.zeros(1)
    for value in values:
        sums = np.concatenate([sums + value, sums - value])
    return sums


def _exact_sign_flip_p(differences: np.ndarray, threshold: float) -> float:
    """The share of all 2^m sign flips of `differences` whose |sum| is at least `threshold`, counted
    by meeting in the middle (module docstring)."""
    half = len(differences) // 2
    left, right = _signed_sums(differences[:half]), np.sort(_signed_sums(differences[half:]))
    # |l + r| >= t  <=>  r >= t - l  or  r <= -t - l (disjoint for t > 0).
    at_least = len(right) - np.searchsorted(right, threshold - left, side="left")
    at_most = np.searchsorted(right, -threshold - left, side="right")
    return float((at_least + at_most).sum() / (len(left) * len(right)))


def holm_adjusted(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjustment of a family of p-values, in their given order."""
    order = sorted(range(len(p_values)), key=lambda i: p_values[i])
    adjusted, running = [0.0] * len(p_values), 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (len(p_values) - rank) * p_values[index]))
        adjusted[index] = running
    return adjusted


def bootstrap_interval(values: Sequence[float | Sequence[float]], level: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean over models. A model's value is a number, or the
    list of its values over data seeds, resampled within each drawn model (module docstring).
    Raises ValueError for no values, or a model with an empty list."""
    groups = [np.atleast_1d(np.asarray(value, dtype=float)) for value in values]
    if not groups or any(len(group) == 0 for group in groups):
        raise ValueError("a bootstrap interval needs at least one value per model")
    rng = np.random.default_rng(STATISTICS_SEED)
    drawn_models = rng.integers(len(groups), size=(BOOTSTRAP_DRAWS, len(groups)))
    width = max(len(group) for group in groups)
    # Seeds drawn within each model: row r's draw for a model with n seeds is floor(u * n).
    within = rng.random(size=(BOOTSTRAP_DRAWS, len(groups), width))
    padded = np.array([np.pad(group, (0, width - len(group))) for group in groups])
    sizes = np.array([len(group) for group in groups])
    picks = (within * sizes[drawn_models][..., None]).astype(int)
    resampled = np.take_along_axis(padded[drawn_models], picks, axis=2)
    seed_mask = np.arange(width)[None, None, :] < sizes[drawn_models][..., None]
    model_means = (resampled * seed_mask).sum(axis=2) / sizes[drawn_models]
    means = model_means.mean(axis=1)
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
