"""`BenchmarkModel`: a model with what circuit discovery needs to run on it and be scored."""

from __future__ import annotations

import dataclasses
from typing import Callable

import numpy as np
import torch

from circuits_benchmark.choices import Ablation, Granularity
from circuits_benchmark.circuits.circuit import Circuit
from circuits_benchmark.errors import BenchmarkError
from circuits_benchmark.models.transformer import CircuitTransformer

# (rng, count) -> token ids [count, pos], BOS included where the model uses one.
InputSampler = Callable[[np.random.Generator, int], torch.Tensor]
# (rng, clean token ids [count, pos]) -> corrupted token ids of the same shape: a corruption a
# researcher would pick (IOI's ABC sentences), offered by a model beside the independent draw.
Corrupter = Callable[[np.random.Generator, torch.Tensor], torch.Tensor]
# The independent input streams of one seed (`BenchmarkModel.clean_and_corrupted`).
DATA_STREAMS = ("method", "faithfulness")
# Every model's default corruption: the corrupted input is an independent draw from the task's
# inputs, the distribution SIIT models were trained to be resample-ablated on.
INDEPENDENT = "independent"


class ExcludingSampler:
    """An input sampler that never returns one of `excluded` (token rows): it draws from `sampler`
    and keeps the rows outside `excluded`, in the order drawn, so a trained model's inputs leave out
    its training inputs while following the task's own distribution over the rest.

    Raises BenchmarkError when MAX_ROUNDS draws of twice the missing count find too few rows
    outside `excluded` (the input space is nearly all training inputs).
    """

    MAX_ROUNDS = 50

    def __init__(self, sampler: InputSampler, excluded: torch.Tensor) -> None:
        self.sampler = sampler
        self.excluded = {tuple(row) for row in excluded.tolist()}

    def __call__(self, rng: np.random.Generator, count: int) -> torch.Tensor:
        kept: list[torch.Tensor] = []
        for _ in range(self.MAX_ROUNDS):
            missing = count - sum(len(part) for part in kept)
            if missing <= 0:
                break
            drawn = self.sampler(rng, 2 * missing)
            fresh = [i for i, row in enumerate(drawn.tolist()) if tuple(row) not in self.excluded]
            kept.append(drawn[fresh])
        tokens = torch.cat(kept)
        if len(tokens) < count:
            raise BenchmarkError(f"only {len(tokens)} of {count} inputs found outside the {len(self.excluded)} excluded ones")
        return tokens[:count]


@dataclasses.dataclass
class BenchmarkModel:
    """A model with what circuit discovery needs to run on it and be scored.

    Attributes:
        model_id: the identifier it was loaded by (stable, used in result paths).
        model: the network.
        sample_tokens: draws input token ids from the model's task distribution.
        metric_positions: bool [pos], the output positions a task metric reads.
        ground_truths: ablation -> circuit (q/k/v granularity), or {} when none is known.
        defined_positions: optional (tokens -> bool [batch, pos]) of positions whose target is
            defined (a numerical program's undefined positions are don't-care); None means all
            metric positions (categorical models output "undefined" as a class of its own).
        dont_care_edges: ablation -> ground-truth edges (q/k/v level) whose single removal changes
            no output: scored as neither true nor false (`dont_care`).
        correspondence: HL node (a head or MLP of the case's compiled model) -> the nodes of this
            model that realise it: the identity for a compiled model, training's for a SIIT model,
            empty when no high-level model is known. Analyses read the known truth through it.
        corruptions: name -> Corrupter, the corruptions the model offers besides INDEPENDENT.
    """

    model_id: str
    model: CircuitTransformer
    sample_tokens: InputSampler
    metric_positions: torch.Tensor
    ground_truths: dict[str, Circuit]
    defined_positions: Callable[[torch.Tensor], torch.Tensor] | None = None
    dont_care_edges: dict[str, list[tuple[str, str]]] = dataclasses.field(default_factory=dict)
    correspondence: dict[str, tuple[str, ...]] = dataclasses.field(default_factory=dict)
    corruptions: dict[str, Corrupter] = dataclasses.field(default_factory=dict)

    @property
    def output_kind(self) -> str:
        return self.model.cfg.output_kind

    def ground_truth(self, ablation: Ablation = Ablation.RESAMPLE, granularity: Granularity = Granularity.COMPONENT) -> Circuit | None:
        """The ground truth for an ablation (mean shares resample's) at a granularity (component, or
        qkv as stored); None if unknown."""
        if not self.ground_truths:
            return None
        circuit = self.ground_truths[Ablation.parse(ablation).ground_truth]
        return circuit.canonical() if granularity == Granularity.COMPONENT else circuit

    def dont_care(self, ablation: Ablation = Ablation.RESAMPLE) -> set[tuple[str, str]]:
        """The don't-care edges under `ablation` (q/k/v level): its own list where the model has one
        (a trained model's checks are per ablation), else that of the ground truth it uses."""
        parsed = Ablation.parse(ablation)
        edges = self.dont_care_edges.get(parsed, self.dont_care_edges.get(parsed.ground_truth, []))
        return {tuple(edge) for edge in edges}

    def dont_care_components(self, ablation: Ablation = Ablation.RESAMPLE) -> tuple[set[tuple[str, str]], set[str]]:
        """The don't-care edges and nodes at component level: a component edge (node) is don't-care
        when every ground-truth edge it stands for (touching it) is; (set(), set()) when none is."""
        dont_care = self.dont_care(ablation)
        if not dont_care or not self.ground_truths:
            return set(), set()
        raw = self.ground_truths[Ablation.parse(ablation).ground_truth]
        kept = Circuit([e for e in raw.edges if e not in dont_care], granularity=raw.granularity).canonical()
        idle = Circuit([e for e in raw.edges if e in dont_care], granularity=raw.granularity).canonical()
        return set(idle.edges) - set(kept.edges), set(idle.nodes) - set(kept.nodes)

    def check_corruption(self, corruption: str) -> None:
        """Raises BenchmarkError unless the model offers `corruption`, naming those it does."""
        if corruption != INDEPENDENT and corruption not in self.corruptions:
            offered = ", ".join([INDEPENDENT, *self.corruptions])
            raise BenchmarkError(f"{self.model_id} has no corruption {corruption!r}: it offers {offered}")

    def clean_and_corrupted(
        self, count: int, seed: int, stream: str = "method", corruption: str = INDEPENDENT
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Clean inputs and their corrupted partners from `stream` of `seed` (one of DATA_STREAMS:
        "method", the inputs a method gets, or "faithfulness", the held-out pairs). Under
        INDEPENDENT the corrupted batch is a second independent draw; under another corruption
        (`corruptions`) it is made from the clean one. Raises BenchmarkError for a corruption the
        model does not offer.

        Every (seed, stream) spawns its own two generators (numpy's SeedSequence), so no two seeds or
        streams share data the way seed s's corrupted batch and seed s + 1's clean batch once did.
        """
        self.check_corruption(corruption)
        clean_sequence, corrupted_sequence = np.random.SeedSequence(seed, spawn_key=(DATA_STREAMS.index(stream),)).spawn(2)
        clean = self.sample_tokens(np.random.default_rng(clean_sequence), count)
        corrupted_rng = np.random.default_rng(corrupted_sequence)
        if corruption == INDEPENDENT:
            return clean, self.sample_tokens(corrupted_rng, count)
        return clean, self.corruptions[corruption](corrupted_rng, clean)
