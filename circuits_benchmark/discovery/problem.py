"""What every discovery method receives and returns.

A `DiscoveryProblem` bundles a model wrapped in the patching engine with clean and corrupted
inputs, the ablation and the metric. Every method is a function
`(problem, settings) -> MethodOutput`, where the output holds one score per edge of the q/k/v-level
graph (higher = more important) and, for threshold methods run as a sweep, the circuit found at
each threshold.
"""

from __future__ import annotations

import dataclasses
import functools
import zlib
from typing import Any, Callable, Iterable, Sequence

import numpy as np
import torch

from circuits_benchmark.choices import Ablation, Granularity
from circuits_benchmark.circuits.circuit import Circuit
from circuits_benchmark.discovery.metric_registry import METRICS
from circuits_benchmark.discovery.metrics import attribution_objective, output_distance
from circuits_benchmark.discovery.settings import MethodSettings
from circuits_benchmark.models.benchmark_model import INDEPENDENT, BenchmarkModel
from circuits_benchmark.patching.engine import PatchableModel
from circuits_benchmark.patching.output_change import PatchingBatch


@dataclasses.dataclass
class DiscoveryProblem:
    """A model, its data and how to compare outputs: everything a method may use.

    Attributes:
        benchmark_model: the model with its ground truth (possibly none).
        batch: the clean and corrupted inputs in the evaluation harness (the model wrapped in the
            one patching engine, the positions a metric reads, the clean outputs).
        ablation: resample, zero or mean.
        metric: a registered metric's name (`metric_registry`): kl, l2, logprob, logit_diff, or a user's.
        seed: for methods with randomness.
        budget: the most forward-pass equivalents the method may spend (None: no cap), counted from
            `budget_start` (`runs.apply_method` sets both); methods check `over_budget()`.
        corruption: how the held-out pairs of its scoring are corrupted (the batch's own corruption,
            or INDEPENDENT where the batch holds a user's pairs: `evaluation.faithfulness`).
    """

    benchmark_model: BenchmarkModel
    batch: PatchingBatch
    ablation: Ablation
    metric: str
    seed: int
    budget: int | None = None
    budget_start: int = 0
    corruption: str = INDEPENDENT

    def over_budget(self) -> bool:
        """Whether the method has spent its budget (never, without one)."""
        spent = self.patchable.passes.forward_pass_equivalents - self.budget_start
        return self.budget is not None and spent >= self.budget

    @property
    def method_seed(self) -> int:
        """The seed of a stochastic method: the run's seed mixed with the model id, so that one seed
        draws independently on different models (the same draw on every model is one sample, not many)."""
        mixed = np.random.SeedSequence([self.seed, zlib.crc32(self.benchmark_model.model_id.encode())])
        return int(mixed.generate_state(1)[0])

    @property
    def patchable(self) -> PatchableModel:
        return self.batch.patchable

    @property
    def ablated(self) -> torch.Tensor:
        """The source outputs that replace ablated edges."""
        return self.batch.ablated(self.ablation)

    @functools.cached_property
    def position_weights(self) -> torch.Tensor:
        """[batch, pos] weights of the positions a metric reads (0 elsewhere)."""
        return self.batch.weights.float()

    def distance(self, patched: torch.Tensor) -> torch.Tensor:
        """The metric's distance of a patched output from the clean one (scalar tensor)."""
        # The corrupted outputs cost a pass over the corrupted batch: only metrics that read them pay it.
        corrupted = self.batch.corrupted_reference if METRICS[self.metric].distance_reads_corrupted else None
        return output_distance(self.metric, patched, self.batch.reference, self.position_weights, corrupted)

    def attribution(self, patched: torch.Tensor) -> torch.Tensor:
        """The metric's attribution objective of a patched output (scalar tensor, for gradients)."""
        return attribution_objective(
            self.metric, patched, self.batch.reference, self.batch.corrupted_reference, self.position_weights
        )

    @property
    def n_edges(self) -> int:
        return self.patchable.n_edges

    def masks(self, value: float, requires_grad: bool = False) -> torch.Tensor:
        """A mask vector with every edge at `value`, on the model's device."""
        return torch.full((self.n_edges,), value, device=self.patchable.device, requires_grad=requires_grad)

    def run(self, masks: torch.Tensor) -> torch.Tensor:
        """Logits of the masked model on the clean batch."""
        return self.patchable.run(self.batch.clean, masks, self.ablated)

    def circuit_from_mask(self, keep: torch.Tensor) -> Circuit:
        """The q/k/v-level circuit of the edges where `keep` is true, restricted to paths to output."""
        edges = [edge for edge, kept in zip(self.patchable.layout.edges(), keep.tolist()) if kept]
        return Circuit(edges, granularity=Granularity.QKV).restricted_to_output_paths()


@dataclasses.dataclass
class MethodOutput:
    """A method's answer.

    Attributes:
        edge_scores: [n_edges] importance per q/k/v-level edge in engine layout order.
        sweep: for threshold methods, (threshold, circuit) pairs; empty for pure score methods.
        details: method-specific numbers worth keeping (e.g. final losses).
    """

    edge_scores: torch.Tensor
    sweep: list[tuple[float, Circuit]] = dataclasses.field(default_factory=list)
    details: dict[str, Any] = dataclasses.field(default_factory=dict)


def run_sweep(problem: DiscoveryProblem, values: Iterable[float], chosen: float, point: Callable[[float], MethodOutput]) -> MethodOutput:
    """A threshold method's sweep: `point(value)` (one run, whose sweep holds its one circuit) at
    every value in order; under a budget the points past it are skipped, the chosen one always
    runs. Scores and details are the chosen point's, and its circuit comes last (the one reported)."""
    outputs = {}
    for value in values:
        if value == chosen or not problem.over_budget():
            outputs[value] = point(value)
    return _sweep_output(outputs, chosen)


def run_batched_sweep(
    problem: DiscoveryProblem,
    settings: MethodSettings,
    parameter: str,
    values: Sequence[float],
    runs: Callable[[Sequence[DiscoveryProblem], Sequence[MethodSettings]], list[MethodOutput]],
) -> MethodOutput:
    """A sweep of a method that runs many settings at once (`runs(problems, settings)`): every
    point of `parameter` in one call; under a budget point by point (`run_sweep`), since points
    past the budget are skipped. The chosen point is the settings' own value."""
    chosen = getattr(settings, parameter)
    point_settings = {value: dataclasses.replace(settings, **{parameter: value}) for value in values}
    if problem.budget is not None:
        return run_sweep(problem, values, chosen, lambda value: runs([problem], [point_settings[value]])[0])
    outputs = runs([problem] * len(point_settings), list(point_settings.values()))
    return _sweep_output(dict(zip(point_settings, outputs)), chosen)


def _sweep_output(outputs: dict[float, MethodOutput], chosen: float) -> MethodOutput:
    """One output of a sweep's points: the chosen point's scores and details, and every point's
    circuit in sweep order with the chosen one last."""
    at_chosen = outputs[chosen]
    others = [circuit for value, output in outputs.items() if value != chosen for circuit in output.sweep]
    return MethodOutput(at_chosen.edge_scores, others + at_chosen.sweep, at_chosen.details)
