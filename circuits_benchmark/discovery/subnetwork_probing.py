"""Subnetwork probing with hard-concrete masks (Louizos et al. 2018; Cao et al. 2021), on nodes or edges.

Each unit (a source component, or an edge when edgewise) gets a stochastic gate whose expected L0
norm is penalised with weight lambda; the gates are trained to keep the patched output close to
the clean one. Ablated units take their ablated value, as in every method here. The score of a
unit is its gate's log-alpha. Every lambda of a sweep (and, in the bench, every seed) trains at
once (`gate_training`).
"""

from __future__ import annotations

from typing import Sequence

import torch

from circuits_benchmark.discovery.gate_training import GateSet, train_gates
from circuits_benchmark.discovery.hard_concrete import deterministic_gate
from circuits_benchmark.discovery.problem import DiscoveryProblem, MethodOutput, run_batched_sweep
from circuits_benchmark.discovery.settings import SP_SWEEP, MethodSettings


def subnetwork_probing(problem: DiscoveryProblem, settings: MethodSettings) -> MethodOutput:
    """Trains gates at `settings.lambda_reg`; the circuit keeps units whose deterministic gate is > 0.5."""
    return subnetwork_probing_runs([problem], [settings])[0]


def subnetwork_probing_runs(problems: Sequence[DiscoveryProblem], settings: Sequence[MethodSettings]) -> list[MethodOutput]:
    """`subnetwork_probing` of every (problem, settings) pair, trained together (problems of one model)."""
    gate_sets = [_gate_set(problem, run_settings) for problem, run_settings in zip(problems, settings)]
    outputs = []
    for problem, run_settings, gate_set, trained in zip(problems, settings, gate_sets, train_gates(gate_sets)):
        keep = deterministic_gate(trained.log_alpha)[gate_set.unit_of_edge] > 0.5
        outputs.append(MethodOutput(
            edge_scores=trained.log_alpha[gate_set.unit_of_edge],
            sweep=[(run_settings.lambda_reg, problem.circuit_from_mask(keep))],
            details={"final_loss": trained.loss, "epochs_run": trained.epochs, "units": "edges" if run_settings.edgewise else "nodes"},
        ))
    return outputs


def subnetwork_probing_sweep(problem: DiscoveryProblem, settings: MethodSettings) -> MethodOutput:
    """Subnetwork probing at every lambda of the sweep grid; scores from the run at `lambda_reg`."""
    return run_batched_sweep(problem, settings, "lambda_reg", sorted({*SP_SWEEP, settings.lambda_reg}), subnetwork_probing_runs)


def _gate_set(problem: DiscoveryProblem, settings: MethodSettings) -> GateSet:
    """Gates on the problem's nodes (or edges), penalised by lambda times their mean open probability."""
    lam = settings.lambda_reg
    n_units, unit_of_edge = _units(problem, settings.edgewise)
    return GateSet(problem, unit_of_edge, n_units, lambda p: lam * p.mean(), settings.epochs, settings.learning_rate)


def _units(problem: DiscoveryProblem, edgewise: bool) -> tuple[int, torch.Tensor]:
    """Number of gated units and, for each edge, the index of its unit (nodes: the edge's source)."""
    layout = problem.patchable.layout
    if edgewise:
        return problem.n_edges, torch.arange(problem.n_edges, device=problem.patchable.device)
    index = {name: i for i, name in enumerate(layout.sources)}
    return len(layout.sources), torch.tensor([index[source] for source, _ in layout.edges()], device=problem.patchable.device)
