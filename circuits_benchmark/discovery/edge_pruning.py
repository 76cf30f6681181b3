"""Edge pruning (Bhaskar et al. 2024): a hard-concrete mask on every edge, trained so that the
pruned model's output matches the full model's while the expected share of edges removed reaches
a target sparsity.

The loss is the metric's distance plus a quadratic pull of the expected sparsity (1 - mean open
probability of the gates) towards the target, weighted by PULL_WEIGHT; the paper's Lagrangian
reaches the same optimum by learned multipliers, which these small models do not need. The
circuit at a target keeps exactly round((1 - target) x edges) edges, those with the largest gate
log-alphas (restricted to paths to the output), so every circuit has the sparsity asked for; the
ROC runs through the circuits of the sparsity sweep. Scores are the final log-alphas at the chosen
target.
"""

from __future__ import annotations

import dataclasses
import torch

from circuits_benchmark.discovery.hard_concrete import open_probability, sample_gates, settled
from circuits_benchmark.discovery.problem import DiscoveryProblem, MethodOutput, run_sweep
from circuits_benchmark.discovery.settings import EDGE_PRUNING_SWEEP, MethodSettings

PULL_WEIGHT = 10.0
# Training may stop early (gates settled, as in subnetwork probing) only this close to the target.
SPARSITY_TOLERANCE = 0.02


def edge_pruning(problem: DiscoveryProblem, settings: MethodSettings) -> MethodOutput:
    """Edge masks trained to `settings.sparsity`; the circuit keeps the edges the target allows."""
    log_alpha, details = _train(problem, settings, settings.sparsity)
    circuit = problem.circuit_from_mask(kept_at(log_alpha, settings.sparsity))
    return MethodOutput(edge_scores=log_alpha, sweep=[(settings.sparsity, circuit)], details=details)


def kept_at(log_alpha: torch.Tensor, sparsity: float) -> torch.Tensor:
    """bool mask of the round((1 - sparsity) x edges) edges with the largest log-alphas (ties: lower index)."""
    count = round((1 - sparsity) * len(log_alpha))
    keep = torch.zeros(len(log_alpha), dtype=torch.bool, device=log_alpha.device)
    keep[torch.argsort(log_alpha, descending=True, stable=True)[:count]] = True
    return keep


def edge_pruning_sweep(problem: DiscoveryProblem, settings: MethodSettings) -> MethodOutput:
    """Edge pruning at every target of the sweep grid; scores from the run at `settings.sparsity`."""
    targets = sorted({*EDGE_PRUNING_SWEEP, settings.sparsity})
    return run_sweep(problem, targets, settings.sparsity, lambda target: edge_pruning(problem, dataclasses.replace(settings, sparsity=target)))


def _train(problem: DiscoveryProblem, settings: MethodSettings, target: float) -> tuple[torch.Tensor, dict]:
    """Gate log-alphas after training towards `target` sparsity, and what training reached."""
    generator = torch.Generator().manual_seed(problem.method_seed)
    log_alpha = torch.full((problem.n_edges,), 3.0, device=problem.patchable.device, requires_grad=True)
    optimiser = torch.optim.Adam([log_alpha], lr=settings.learning_rate)
    history: list[torch.Tensor] = []
    for epoch in range(settings.epochs):
        distance = problem.distance(problem.run(sample_gates(log_alpha, generator)))
        sparsity = 1 - open_probability(log_alpha).mean()
        loss = distance + PULL_WEIGHT * (sparsity - target) ** 2
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        stable = settled(history, log_alpha.detach(), settings.epochs - epoch - 1)
        if (stable and abs(float(sparsity.detach()) - target) <= SPARSITY_TOLERANCE) or problem.over_budget():
            break
    expected = float(1 - open_probability(log_alpha.detach()).mean())
    details = {"target_sparsity": target, "expected_sparsity": expected, "final_distance": float(distance.detach()), "epochs_run": epoch + 1}
    return log_alpha.detach(), details
