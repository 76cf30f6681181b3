"""The built-in metrics (see `metric_registry`): distances and attribution objectives.

Every function takes (patched, clean, corrupted, weights): outputs [batch, pos, out] of the patched
pass and of the unpatched model on the clean and corrupted inputs, and the weights [batch, pos] of
the positions that count (undefined positions have weight 0). Each returns the weighted mean over
positions, differentiable in the masks. Distances are 0 when the patched output is the clean one.
"""

from __future__ import annotations

import torch

from circuits_benchmark.discovery.metric_registry import METRICS, parse_metric


def output_distance(
    metric: str, patched: torch.Tensor, clean: torch.Tensor, weights: torch.Tensor, corrupted: torch.Tensor | None = None
) -> torch.Tensor:
    """The registered metric's distance (scalar tensor); raises BenchmarkError for an unknown name."""
    return METRICS[parse_metric(metric)].function()(patched, clean, corrupted, weights)


def attribution_objective(metric: str, patched: torch.Tensor, clean: torch.Tensor, corrupted: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """The registered metric's attribution objective (scalar tensor), for gradient methods.

    Distances such as KL and L2 have a minimum, hence a zero gradient, exactly at the clean output,
    so EAP attributes with a task-performance objective instead: the log-probability of the clean
    prediction (KL), or the projection of the output onto the clean-minus-corrupted direction (L2).
    """
    return METRICS[parse_metric(metric)].function(attribution=True)(patched, clean, corrupted, weights)


def _mean(per_position: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    return (per_position * weights).sum() / weights.sum()


def kl_distance(patched: torch.Tensor, clean: torch.Tensor, corrupted: torch.Tensor | None, weights: torch.Tensor) -> torch.Tensor:
    """KL(clean || patched) of the output distributions."""
    clean_log = torch.log_softmax(clean, dim=-1)
    return _mean((clean_log.exp() * (clean_log - torch.log_softmax(patched, dim=-1))).sum(-1), weights)


def l2_distance(patched: torch.Tensor, clean: torch.Tensor, corrupted: torch.Tensor | None, weights: torch.Tensor) -> torch.Tensor:
    """Squared error of the outputs."""
    return _mean(((patched - clean) ** 2).sum(-1), weights)


def clean_logprob(patched: torch.Tensor, clean: torch.Tensor, corrupted: torch.Tensor | None, weights: torch.Tensor) -> torch.Tensor:
    """Log-probability the patched output gives the clean prediction."""
    labels = clean.argmax(-1, keepdim=True)
    return _mean(torch.log_softmax(patched, dim=-1).gather(-1, labels).squeeze(-1), weights)


def clean_logprob_drop(patched: torch.Tensor, clean: torch.Tensor, corrupted: torch.Tensor | None, weights: torch.Tensor) -> torch.Tensor:
    """How much log-probability the clean prediction loses: clean's minus patched's."""
    return clean_logprob(clean, clean, corrupted, weights) - clean_logprob(patched, clean, corrupted, weights)


def clean_minus_corrupted_projection(patched: torch.Tensor, clean: torch.Tensor, corrupted: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """The output projected onto the clean-minus-corrupted direction."""
    return _mean((patched * (clean - corrupted)).sum(-1), weights)


def logit_difference(patched: torch.Tensor, clean: torch.Tensor, corrupted: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """logit(clean answer) - logit(corrupted answer) of the patched output (0 where they agree)."""
    clean_answer, corrupted_answer = clean.argmax(-1, keepdim=True), corrupted.argmax(-1, keepdim=True)
    return _mean((patched.gather(-1, clean_answer) - patched.gather(-1, corrupted_answer)).squeeze(-1), weights)


def logit_difference_drop(patched: torch.Tensor, clean: torch.Tensor, corrupted: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """How much of the clean logit difference the patched output loses."""
    return logit_difference(clean, clean, corrupted, weights) - logit_difference(patched, clean, corrupted, weights)
