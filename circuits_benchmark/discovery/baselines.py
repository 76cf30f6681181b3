"""Baselines every method should beat: random scores, and the size of what an edge would change."""

from __future__ import annotations

import torch

from circuits_benchmark.discovery.problem import DiscoveryProblem, MethodOutput
from circuits_benchmark.discovery.settings import MethodSettings


def random_scores(problem: DiscoveryProblem, settings: MethodSettings) -> MethodOutput:
    """Uniform random scores, drawn from the problem's seed for this model."""
    generator = torch.Generator().manual_seed(problem.method_seed)
    # Drawn on the CPU so the same seed gives the same scores on every device.
    return MethodOutput(edge_scores=torch.rand(problem.n_edges, generator=generator).to(problem.patchable.device))


def activation_magnitude(problem: DiscoveryProblem, settings: MethodSettings) -> MethodOutput:
    """Score of an edge = mean norm of (clean - ablated) output of its source: how much ablation moves it."""
    clean_sources = problem.patchable.source_outputs(problem.batch.clean)
    difference = (clean_sources - problem.ablated).norm(dim=-1)  # [source, batch, pos]
    weights = problem.position_weights
    per_source = (difference * weights).sum(dim=(1, 2)) / weights.sum()
    index = {name: i for i, name in enumerate(problem.patchable.layout.sources)}
    scores = torch.stack([per_source[index[source]] for source, _ in problem.patchable.layout.edges()])
    return MethodOutput(edge_scores=scores)
