"""Exact activation patching: ablate each edge alone and measure how far the output moves.

One forward pass per edge; the reference that attribution methods approximate.
"""

from __future__ import annotations

import torch

from circuits_benchmark.discovery.problem import DiscoveryProblem, MethodOutput
from circuits_benchmark.discovery.settings import MethodSettings


def activation_patching(problem: DiscoveryProblem, settings: MethodSettings) -> MethodOutput:
    """Score of an edge = distance to the clean output when only that edge is ablated; under a
    budget, the edges it had no passes left for score -inf (ranked last)."""
    scores = problem.masks(float("-inf"))
    masks = problem.masks(1.0)
    with torch.no_grad():
        for index in range(problem.n_edges):
            if problem.over_budget():
                break
            masks[index] = 0.0
            scores[index] = problem.distance(problem.run(masks))
            masks[index] = 1.0
    return MethodOutput(edge_scores=scores)
