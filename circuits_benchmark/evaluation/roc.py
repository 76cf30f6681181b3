"""Confusion counts, ROC curves and AUROC of discovered circuits against a ground truth.

Candidates are any hashable items: `scoring_levels` says which they are at each level (q/k/v
edges, component edges, nodes) and how a q/k/v ranking becomes a ranking of each.

AUROC definition. Points are (FPR, TPR) pairs, from a score ranking (one point per distinct score
value, predicting every candidate scoring at least that value, so tied candidates enter together:
a diagonal segment) or from the circuits of a threshold sweep (one point each). The end points
(0, 0) and (1, 1) are always added. Points are sorted by FPR (then TPR); TPR is made monotone by a
running maximum, since a point below an earlier one at higher FPR is dominated by it. The area
under the resulting step-free polyline is taken with the trapezoid rule. With no positive or no
negative candidate the AUROC is undefined (None).
"""

from __future__ import annotations

import dataclasses
from typing import Hashable, Iterable, Mapping



@dataclasses.dataclass(frozen=True)
class Confusion:
    """TP/FP/FN/TN of a predicted set against a true set within the candidates."""

    tp: int
    fp: int
    fn: int
    tn: int

    @property
    def tpr(self) -> float | None:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else None

    @property
    def fpr(self) -> float | None:
        return self.fp / (self.fp + self.tn) if self.fp + self.tn else None

    @classmethod
    def of(cls, predicted: set, truth: set, candidates: set) -> "Confusion":
        predicted, truth = predicted & candidates, truth & candidates
        tp = len(predicted & truth)
        fp = len(predicted - truth)
        fn = len(truth - predicted)
        return cls(tp, fp, fn, len(candidates) - tp - fp - fn)

    def to_dict(self) -> dict:
        return {**dataclasses.asdict(self), "tpr": self.tpr, "fpr": self.fpr}


def roc_from_scores(scores: Mapping[Hashable, float], truth: set, candidates: set) -> list[tuple[float, float]]:
    """ROC points from a score ranking (higher = more likely in the circuit): one per distinct
    score, predicting every candidate scoring at least that much."""
    positives = len(truth & candidates)
    negatives = len(candidates) - positives
    if not positives or not negatives:
        return []
    ranked = sorted(((scores.get(c, float("-inf")), c in truth) for c in candidates), key=lambda item: -item[0])
    points, tp, fp = [], 0, 0
    for index, (score, is_true) in enumerate(ranked):
        tp, fp = tp + is_true, fp + (not is_true)
        if index + 1 == len(ranked) or ranked[index + 1][0] != score:  # the last of a group of equal scores
            points.append((fp / negatives, tp / positives))
    return points


def roc_from_circuits(predictions: Iterable[set], truth: set, candidates: set) -> list[tuple[float, float]]:
    """ROC points from the predicted sets of a threshold sweep."""
    points = []
    for predicted in predictions:
        confusion = Confusion.of(predicted, truth, candidates)
        points.append((confusion.fpr, confusion.tpr))
    return _valid(points)


def roc_envelope(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """The monotone curve through the points and both end points, as defined in the module docstring."""
    best, curve = 0.0, []
    for fpr, tpr in sorted({(0.0, 0.0), (1.0, 1.0), *points}):
        best = max(best, tpr)
        curve.append((fpr, best))
    return curve


def auroc(points: list[tuple[float, float]]) -> float | None:
    """Area under the ROC curve as defined in this module's docstring; None if undefined."""
    if not points:
        return None
    curve = roc_envelope(points)
    return sum((f1 - f0) * (t0 + t1) / 2 for (f0, t0), (f1, t1) in zip(curve, curve[1:]))


def _valid(points: list[tuple[float | None, float | None]]) -> list[tuple[float, float]]:
    """Drops points where FPR or TPR is undefined (no negatives or no positives)."""
    return [(f, t) for f, t in points if f is not None and t is not None]
