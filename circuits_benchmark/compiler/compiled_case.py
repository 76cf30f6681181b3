"""`CompiledCase`: a case's compiled model with its encodings and ground truths (see `compiler.cache`
for how it is built and cached)."""

from __future__ import annotations

import dataclasses
import functools
from pathlib import Path
from typing import Any, Sequence

import torch

from circuits_benchmark.cases import Case
from circuits_benchmark.choices import Ablation, Granularity
from circuits_benchmark.circuits.circuit import Circuit
from circuits_benchmark.models.tokenizer import CaseTokenizer
from circuits_benchmark.models.transformer import CircuitTransformer


@dataclasses.dataclass
class CompiledCase:
    """A case's compiled model with what is needed to feed it, read it and judge circuits on it."""

    case: Case
    model: CircuitTransformer
    input_tokens: list[Any]
    output_classes: list[Any] | None
    residual_labels: list[str]
    ground_truths: dict[str, Circuit]
    fingerprint: str
    entry_dir: Path
    pruned_edges: dict[str, list[tuple[str, str]]] = dataclasses.field(default_factory=dict)
    dont_care: dict[str, list[tuple[str, str]]] = dataclasses.field(default_factory=dict)
    # head or MLP -> the labels of the SOps it computes (what probing and attention roles check against)
    sop_of_component: dict[str, list[str]] = dataclasses.field(default_factory=dict)

    @property
    def is_categorical(self) -> bool:
        return self.output_classes is not None

    def ground_truth(self, ablation: Ablation = Ablation.RESAMPLE, granularity: Granularity = Granularity.COMPONENT) -> Circuit:
        """Ground-truth circuit for an ablation kind (mean shares resample's) at a granularity."""
        circuit = self.ground_truths[Ablation.parse(ablation).ground_truth]
        return circuit.canonical() if granularity == Granularity.COMPONENT else circuit

    @functools.cached_property
    def tokenizer(self) -> CaseTokenizer:
        """Encodes inputs and decodes outputs, checking them (see `models.tokenizer`)."""
        return CaseTokenizer(self.input_tokens, self.output_classes, self.case.max_seq_len)

    def encode(self, inputs: Sequence[Sequence[Any]]) -> torch.Tensor:
        """Token ids [batch, pos] for inputs given without BOS; raises BenchmarkError on a bad input."""
        return self.tokenizer.encode(inputs)

    def decode(self, logits: torch.Tensor) -> list[list[Any]]:
        """Output values per input, BOS position dropped: class values ("undefined" is None), or
        floats for numerical cases."""
        return self.tokenizer.decode(logits)
