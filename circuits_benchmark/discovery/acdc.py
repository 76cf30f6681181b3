"""ACDC (Conmy et al. 2023): prune edges in reverse topological order while the output barely moves.

Starting from the full graph, each edge is ablated in turn, destinations from the output back to
the embeddings; the ablation is kept when the distance to the clean output grows by less than tau.
An edge whose destination no longer reaches the output cannot matter and is removed without a
forward pass. The edge score is the growth measured when the edge was tried.
"""

from __future__ import annotations

import dataclasses
import hashlib

import torch

from circuits_benchmark.circuits import components
from circuits_benchmark.discovery.problem import DiscoveryProblem, MethodOutput, run_sweep
from circuits_benchmark.discovery.settings import ACDC_SWEEP, MethodSettings


def acdc(problem: DiscoveryProblem, settings: MethodSettings) -> MethodOutput:
    """One ACDC run at `settings.threshold`; scores are the metric growth per edge."""
    keep, scores = _prune(problem, settings.threshold)
    return MethodOutput(edge_scores=scores, sweep=[(settings.threshold, problem.circuit_from_mask(keep))])


def acdc_sweep(problem: DiscoveryProblem, settings: MethodSettings) -> MethodOutput:
    """ACDC at every threshold of the sweep grid and at `threshold` (for the ROC); scores and the
    reported circuit (last in the sweep) come from the run at `threshold`."""
    taus = sorted({*ACDC_SWEEP, settings.threshold}, reverse=True)
    return run_sweep(problem, taus, settings.threshold, lambda tau: acdc(problem, dataclasses.replace(settings, threshold=tau)))


# Distances already measured, per circuit, for the problem seen last in this process. ACDC at
# neighbouring thresholds walks the same circuits until its first different decision, and the bench
# runs a sweep's thresholds one after another in each worker: those runs measure only where they
# part. A pass is deterministic, so a remembered distance is exactly the one a pass would give.
_measured: dict[str, dict[bytes, float]] = {}


def _problem_key(problem: DiscoveryProblem) -> str:
    """What a distance depends on besides the circuit: model outputs, inputs, ablation and metric."""
    digest = hashlib.sha256(f"{problem.ablation}|{problem.metric}".encode())
    batch = problem.batch
    for tensor in (batch.clean, batch.corrupted, batch.reference, problem.ablated, problem.position_weights):
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def _prune(problem: DiscoveryProblem, tau: float) -> tuple[torch.Tensor, torch.Tensor]:
    layout = problem.patchable.layout
    edges = layout.edges()
    masks = problem.masks(1.0)
    scores = problem.masks(0.0)
    # Kept outgoing edges per source component: a component without any cannot affect the output.
    out_degree = {source: 0 for source in layout.sources}
    for source, _ in edges:
        out_degree[source] += 1
    key = _problem_key(problem)
    if key not in _measured:
        _measured.clear()  # one problem at a time: memory stays one sweep's circuits
        _measured[key] = {}
    measured = _measured[key]

    def distance() -> float:
        circuit = masks.bool().cpu().numpy().tobytes()
        if circuit not in measured:
            with torch.no_grad():
                patched = problem.run(masks)
                measured[circuit] = float(problem.distance(patched))
        return measured[circuit]

    current = distance()
    for index in reversed(range(len(edges))):
        if problem.over_budget():
            break  # a cap: the edges not yet tested stay in the circuit
        source, destination = edges[index]
        component = components.component_of(destination)
        if component != components.OUTPUT and out_degree[component] == 0:
            masks[index] = 0.0
            out_degree[source] -= 1
            continue
        masks[index] = 0.0
        candidate = distance()
        scores[index] = candidate - current
        if candidate - current < tau:
            current = candidate
            out_degree[source] -= 1
        else:
            masks[index] = 1.0
    return masks.bool(), scores
