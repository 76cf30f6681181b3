"""Uniform gradient sampling (UGS, as in the MIB benchmark): an edge's score is how much, on
average over masks drawn uniformly at random, opening it further lowers the distance to the clean
output: score = -E_m[dD/dm_e] with every m_e ~ U(0, 1). Averaging over random masks, rather than
taking the gradient at the full model as EAP does, sees edges whose effect only shows once others
are partly ablated. `settings.samples` masks; the draws come from the problem's seed.
"""

from __future__ import annotations

import torch

from circuits_benchmark.discovery.problem import DiscoveryProblem, MethodOutput
from circuits_benchmark.discovery.settings import MethodSettings


def uniform_gradient_sampling(problem: DiscoveryProblem, settings: MethodSettings) -> MethodOutput:
    """Scores = minus the mean gradient of the distance over `settings.samples` uniform masks."""
    generator = torch.Generator().manual_seed(problem.method_seed)
    total, done = problem.masks(0.0), 0
    for _ in range(settings.samples):
        if done and problem.over_budget():
            break  # a cap: fewer samples (at least one)
        done += 1
        masks = torch.rand(problem.n_edges, generator=generator).to(problem.patchable.device).requires_grad_(True)
        (gradient,) = torch.autograd.grad(problem.distance(problem.run(masks)), masks)
        total -= gradient
    return MethodOutput(edge_scores=total / done, details={"samples": settings.samples, "samples_run": done})
