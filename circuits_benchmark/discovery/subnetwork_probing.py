"""Subnetwork probing with hard-concrete masks (Louizos et al. 2018; Cao et al. 2021), on nodes or edges.

Each unit (a source component, or an edge when edgewise) gets a stochastic gate whose expected L0
norm is penalised with weight lambda; the gates are trained to keep the patched output close to
the clean one. Ablated units take their ablated value, as in every method here. The score of a
unit is its gate's log-alpha.
"""

from __future__ import annotations

import dataclasses
import torch

from circuits_benchmark.discovery.hard_concrete import deterministic_gate, open_probability, sample_gates, settled
from circuits_benchmark.discovery.problem import DiscoveryProblem, MethodOutput, run_sweep
from circuits_benchmark.discovery.settings import SP_SWEEP, MethodSettings


def subnetwork_probing(problem: DiscoveryProblem, settings: MethodSettings) -> MethodOutput:
    """Trains gates at `settings.lambda_reg`; the circuit keeps units whose deterministic gate is > 0.5."""
    log_alpha, unit_of_edge, loss, epochs = _train(problem, settings, settings.lambda_reg)
    keep = deterministic_gate(log_alpha)[unit_of_edge] > 0.5
    return MethodOutput(
        edge_scores=log_alpha.detach()[unit_of_edge],
        sweep=[(settings.lambda_reg, problem.circuit_from_mask(keep))],
        details={"final_loss": loss, "epochs_run": epochs, "units": "edges" if settings.edgewise else "nodes"},
    )


def subnetwork_probing_sweep(problem: DiscoveryProblem, settings: MethodSettings) -> MethodOutput:
    """Subnetwork probing at every lambda of the sweep grid; scores from the run at `lambda_reg`."""
    lambdas = sorted({*SP_SWEEP, settings.lambda_reg})
    return run_sweep(
        problem, lambdas, settings.lambda_reg, lambda lam: subnetwork_probing(problem, dataclasses.replace(settings, lambda_reg=lam))
    )


def _units(problem: DiscoveryProblem, edgewise: bool) -> tuple[int, torch.Tensor]:
    """Number of gated units and, for each edge, the index of its unit (nodes: the edge's source)."""
    layout = problem.patchable.layout
    if edgewise:
        return problem.n_edges, torch.arange(problem.n_edges, device=problem.patchable.device)
    index = {name: i for i, name in enumerate(layout.sources)}
    return len(layout.sources), torch.tensor([index[source] for source, _ in layout.edges()], device=problem.patchable.device)


def _train(problem: DiscoveryProblem, settings: MethodSettings, lam: float) -> tuple[torch.Tensor, torch.Tensor, float, int]:
    """Gate log-alphas, each edge's unit, the final loss and the epochs run (at most
    `settings.epochs`, fewer once the gates have settled)."""
    n_units, unit_of_edge = _units(problem, settings.edgewise)
    generator = torch.Generator().manual_seed(problem.method_seed)
    device = problem.patchable.device
    log_alpha = torch.full((n_units,), 3.0, device=device, requires_grad=True)  # start near "keep everything"
    optimiser = torch.optim.Adam([log_alpha], lr=settings.learning_rate)
    loss = torch.tensor(0.0)
    history: list[torch.Tensor] = []
    for epoch in range(settings.epochs):
        gates = sample_gates(log_alpha, generator)
        distance = problem.distance(problem.run(gates[unit_of_edge]))
        loss = distance + lam * open_probability(log_alpha).mean()
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        if settled(history, log_alpha.detach(), settings.epochs - epoch - 1) or problem.over_budget():
            break
    return log_alpha.detach(), unit_of_edge, float(loss.detach()), epoch + 1

