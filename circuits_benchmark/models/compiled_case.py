"""`CompiledCase`: a case's compiled model with its encodings and ground truths (see `models.compiled`
for how it is built and cached)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Sequence

import torch

from circuits_benchmark.cases import BOS, Case
from circuits_benchmark.choices import Ablation
from circuits_benchmark.circuits.circuit import Circuit
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

    @property
    def is_categorical(self) -> bool:
        return self.output_classes is not None

    def ground_truth(self, ablation: str = "resample", granularity: str = "component") -> Circuit:
        """Ground-truth circuit for an ablation kind (mean shares resample's) at a granularity."""
        circuit = self.ground_truths[Ablation.parse(ablation).ground_truth]
        return circuit.canonical() if granularity == "component" else circuit

    def encode(self, inputs: Sequence[Sequence[Any]]) -> torch.Tensor:
        """Token ids [batch, pos] for inputs given without BOS; raises ValueError on unknown tokens."""
        index = {token: i for i, token in enumerate(self.input_tokens)}
        try:
            return torch.tensor([[index[BOS]] + [index[t] for t in tokens] for tokens in inputs], dtype=torch.long)
        except KeyError as error:
            raise ValueError(f"token {error.args[0]!r} is not in case {self.case.case_id}'s vocabulary") from None

    def decode(self, logits: torch.Tensor) -> list[list[Any]]:
        """Output values per input, BOS position dropped: class values, or floats for numerical cases."""
        body = logits[:, 1:]
        if not self.is_categorical:
            return body[..., 0].tolist()
        return [[self.output_classes[i] for i in row] for row in body.argmax(dim=-1).tolist()]
