"""Edge pruning (Bhaskar et al. 2024): a hard-concrete mask on every edge, trained so that the
pruned model's output matches the full model's while the expected share of edges removed reaches
a target sparsity.

The loss is the metric's distance plus a quadratic pull of the expected sparsity (1 - mean open
probability of the gates) towards the target, weighted by PULL_WEIGHT; the paper's Lagrangian
reaches the same optimum by learned multipliers, which these small models do not need. The
circuit at a target keeps exactly round((1 - target) x edges) edges, those with the largest gate
log-alphas (restricted to paths to the output), so every circuit has the sparsity asked for; the
ROC runs through the circuits of the sparsity sweep. Scores are the final log-alphas at the chosen
target. Every target of a sweep (and, in the bench, every seed) trains at once (`gate_training`).
"""

from __future__ import annotations

from typing import Sequence

import torch

from circuits_benchmark.discovery.gate_training import GateSet, train_gates
from circuits_benchmark.discovery.hard_concrete import open_probability
from circuits_benchmark.discovery.problem import DiscoveryProblem, MethodOutput, run_batched_sweep
from circuits_benchmark.discovery.settings import EDGE_PRUNING_SWEEP, MethodSettings

PULL_WEIGHT = 10.0
# Training may stop early (gates settled, as in subnetwork probing) only this close to the target.
SPARSITY_TOLERANCE = 0.02


def edge_pruning(problem: DiscoveryProblem, settings: MethodSettings) -> MethodOutput:
    """Edge masks trained to `settings.sparsity`; the circuit keeps the edges the target allows."""
    return edge_pruning_runs([problem], [settings])[0]


def edge_pruning_runs(problems: Sequence[DiscoveryProblem], settings: Sequence[MethodSettings]) -> list[MethodOutput]:
    """`edge_pruning` of every (problem, settings) pair, trained together (problems of one model)."""
    gate_sets = [_gate_set(problem, run_settings) for problem, run_settings in zip(problems, settings)]
    outputs = []
    for problem, run_settings, trained in zip(problems, settings, train_gates(gate_sets)):
        target = run_settings.sparsity
        expected = float(1 - open_probability(trained.log_alpha).mean())
        details = {"target_sparsity": target, "expected_sparsity": expected, "final_distance": trained.distance, "epochs_run": trained.epochs}
        circuit = problem.circuit_from_mask(kept_at(trained.log_alpha, target))
        outputs.append(MethodOutput(edge_scores=trained.log_alpha, sweep=[(target, circuit)], details=details))
    return outputs


def kept_at(log_alpha: torch.Tensor, sparsity: float) -> torch.Tensor:
    """bool mask of the round((1 - sparsity) x edges) edges with the largest log-alphas (ties: lower index)."""
    count = round((1 - sparsity) * len(log_alpha))
    keep = torch.zeros(len(log_alpha), dtype=torch.bool, device=log_alpha.device)
    keep[torch.argsort(log_alpha, descending=True, stable=True)[:count]] = True
    return keep


def edge_pruning_sweep(problem: DiscoveryProblem, settings: MethodSettings) -> MethodOutput:
    """Edge pruning at every target of the sweep grid; scores from the run at `settings.sparsity`."""
    return run_batched_sweep(problem, settings, "sparsity", sorted({*EDGE_PRUNING_SWEEP, settings.sparsity}), edge_pruning_runs)


def _gate_set(problem: DiscoveryProblem, settings: MethodSettings) -> GateSet:
    """A gate per edge, pulled towards the target sparsity; it may stop only near the target."""
    target = settings.sparsity
    return GateSet(
        problem, torch.arange(problem.n_edges, device=problem.patchable.device), problem.n_edges,
        penalty=lambda p: PULL_WEIGHT * ((1 - p.mean()) - target) ** 2,
        epochs=settings.epochs, learning_rate=settings.learning_rate,
        ready=lambda p: abs(float(1 - p.mean()) - target) <= SPARSITY_TOLERANCE,
    )
