"""Hard-concrete gate sets trained many at once, as one tensor program: subnetwork probing's and
edge pruning's training loop.

Each gate set is one training: its problem (model and data), which unit gates each edge, its
regulariser, when it may stop, its epochs and learning rate. All gate sets of one model train
together: each step, the active gate sets' inputs are stacked as consecutive blocks of rows, each
block patched by its own circuit (the engine's `[groups, n_edges]` masks), and one backward pass of
the summed losses gives every gate set exactly its own gradient (no loss reads another set's
gates). One Adam holds one parameter group per gate set; Adam works element by element, and a set
that has stopped gets no gradient, which Adam skips, so every set follows the steps it would take
alone, draws its own noise from its own generator, and stops on its own rule. Blocks are packed
into passes of at most `rows_per_pass` rows, so memory stays bounded on large models.
"""

from __future__ import annotations

import dataclasses
from typing import Callable, Sequence

import torch

from circuits_benchmark.discovery.hard_concrete import open_probability, sample_gates, settled
from circuits_benchmark.discovery.problem import DiscoveryProblem
from circuits_benchmark.patching.engine import PatchableModel

# A training pass stacks at most this many (row x position x d_model x (sources + destinations))
# units: a pass keeps about 30 bytes per unit alive for its backward pass (measured on siit:21),
# so this bounds a pass near 150 MB, whatever the model.
PASS_ELEMENT_BUDGET = 5_000_000


@dataclasses.dataclass
class GateSet:
    """One training of gates.

    Attributes:
        problem: its model and data (its pass counter is charged for its rows; `over_budget` stops it).
        unit_of_edge: [n_edges] index of the gate each edge carries (nodes: the edge's source).
        n_units: the number of gates.
        penalty: regulariser added to the distance, of the gates' open probabilities [n_units].
        ready: whether it may stop now, given the open probabilities before this step's update
            (besides its gates having settled).
        epochs, learning_rate: its most steps and Adam's rate.
    """

    problem: DiscoveryProblem
    unit_of_edge: torch.Tensor
    n_units: int
    penalty: Callable[[torch.Tensor], torch.Tensor]
    epochs: int
    learning_rate: float
    ready: Callable[[torch.Tensor], bool] = lambda open_probabilities: True


@dataclasses.dataclass
class TrainedGates:
    """A gate set after training: log-alphas, last distance and loss, and the steps it took."""

    log_alpha: torch.Tensor
    distance: float
    loss: float
    epochs: int


def train_gates(gate_sets: Sequence[GateSet]) -> list[TrainedGates]:
    """Trains every gate set (module docstring) from log-alpha 3 (near "keep everything") until it
    settles (`hard_concrete.settled`) and is `ready`, spends its problem's budget, or runs its epochs."""
    device = gate_sets[0].problem.patchable.device
    log_alphas = [torch.full((g.n_units,), 3.0, device=device, requires_grad=True) for g in gate_sets]
    optimiser = torch.optim.Adam([{"params": [la], "lr": g.learning_rate} for la, g in zip(log_alphas, gate_sets)])
    generators = [torch.Generator().manual_seed(g.problem.method_seed) for g in gate_sets]
    histories: list[list[torch.Tensor]] = [[] for _ in gate_sets]
    results: list[TrainedGates | None] = [None] * len(gate_sets)
    engine = PatchableModel(gate_sets[0].problem.patchable.model)  # its own counter: each set's problem is charged instead
    active = list(range(len(gate_sets)))
    epoch = 0
    while active:
        optimiser.zero_grad()
        distances, losses, ready = {}, {}, {}
        for chunk in _passes(active, gate_sets):
            _step_pass(engine, chunk, gate_sets, log_alphas, generators, distances, losses, ready)
        optimiser.step()
        epoch += 1
        still = []
        for i in active:
            gate_set = gate_sets[i]
            stable = settled(histories[i], log_alphas[i].detach(), gate_set.epochs - epoch)
            if (stable and ready[i]) or gate_set.problem.over_budget() or epoch == gate_set.epochs:
                results[i] = TrainedGates(log_alphas[i].detach(), distances[i], losses[i], epoch)
            else:
                still.append(i)
        active = still
    return results  # type: ignore[return-value] - every set stops by its last epoch


def _passes(active: list[int], gate_sets: Sequence[GateSet]) -> list[list[int]]:
    """The active sets packed, in order, into passes of at most `rows_per_pass` rows (one set at least)."""
    limit = rows_per_pass(gate_sets[active[0]].problem)
    chunks: list[list[int]] = [[]]
    rows = 0
    for i in active:
        size = len(gate_sets[i].problem.batch.clean)
        if chunks[-1] and rows + size > limit:
            chunks.append([])
            rows = 0
        chunks[-1].append(i)
        rows += size
    return chunks


def rows_per_pass(problem: DiscoveryProblem) -> int:
    """The most input rows one training pass stacks on this problem's model (PASS_ELEMENT_BUDGET)."""
    cfg = problem.patchable.model.cfg
    layout = problem.patchable.layout
    per_row = problem.batch.clean.shape[1] * cfg.d_model * (len(layout.sources) + len(layout.destinations))
    return max(1, PASS_ELEMENT_BUDGET // per_row)


def _step_pass(
    engine: PatchableModel,
    chunk: list[int],
    gate_sets: Sequence[GateSet],
    log_alphas: list[torch.Tensor],
    generators: list[torch.Generator],
    distances: dict[int, float],
    losses: dict[int, float],
    ready: dict[int, bool],
) -> None:
    """One forward and backward pass of the sets in `chunk`, their blocks of rows stacked; records
    each set's distance, loss and readiness (before the update) and charges its problem's counter."""
    problems = [gate_sets[i].problem for i in chunk]
    masks = torch.stack([sample_gates(log_alphas[i], generators[i])[gate_sets[i].unit_of_edge] for i in chunk])
    tokens = torch.cat([p.batch.clean for p in problems])
    ablated = torch.cat([p.ablated.expand(-1, len(p.batch.clean), -1, -1) for p in problems], dim=1)
    logits = engine.run(tokens, masks, ablated)
    total = torch.zeros((), device=logits.device)
    start = 0
    for i, problem in zip(chunk, problems):
        rows = len(problem.batch.clean)
        open_probabilities = open_probability(log_alphas[i])
        distance = problem.distance(logits[start : start + rows])
        loss = distance + gate_sets[i].penalty(open_probabilities)
        total = total + loss
        distances[i], losses[i] = float(distance.detach()), float(loss.detach())
        ready[i] = gate_sets[i].ready(open_probabilities.detach())
        problem.patchable.passes.add(forward_rows=rows, backward_rows=rows)
        start += rows
    total.backward()
