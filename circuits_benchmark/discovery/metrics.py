"""How far a patched output is from the clean one: KL for categorical outputs, L2 for numerical.

Both are averaged over the metric positions of every input (undefined positions have weight 0),
are 0 when the patched model equals the clean one, and are differentiable in the masks.
"""

from __future__ import annotations

import torch

from circuits_benchmark.choices import Metric


def output_distance(metric: str, patched: torch.Tensor, clean: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """Weighted mean over [batch, pos] of KL(clean || patched) or squared error (scalar tensor)."""
    if Metric.parse(metric) is Metric.KL:
        clean_log = torch.log_softmax(clean, dim=-1)
        per_position = (clean_log.exp() * (clean_log - torch.log_softmax(patched, dim=-1))).sum(-1)
    else:
        per_position = ((patched - clean) ** 2).sum(-1)
    return (per_position * weights).sum() / weights.sum()


def attribution_objective(metric: str, patched: torch.Tensor, clean: torch.Tensor, corrupted: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """A metric whose gradient at the clean point is not zero, for gradient attribution (EAP).

    Distances such as KL and L2 have a minimum, hence a zero gradient, exactly at the clean output,
    so EAP attributes with a task-performance metric instead: the log-probability of the clean
    prediction (categorical), or the projection of the output onto the clean-minus-corrupted
    direction (numerical).
    """
    if Metric.parse(metric) is Metric.KL:
        labels = clean.argmax(-1, keepdim=True)
        per_position = torch.log_softmax(patched, dim=-1).gather(-1, labels).squeeze(-1)
    else:
        per_position = (patched * (clean - corrupted)).sum(-1)
    return (per_position * weights).sum() / weights.sum()
