"""The high-level (HL) model a SIIT run trains towards: anything that computes the task's output
from token ids and can set one of its nodes to the value it takes on another input.

Two kinds implement it: a tracr-compiled model (`CompiledHighLevel`: nodes are its heads and MLPs,
interventions are masks of the patching engine) and a causal model written in Python
(`ioi.high_level.IoiCausalModel`). The objectives see only this interface.
"""

from __future__ import annotations

from typing import Protocol, Sequence

import torch

from circuits_benchmark.models.transformer import CircuitTransformer
from circuits_benchmark.patching.engine import PatchableModel


class HighLevelModel(Protocol):
    """An HL model whose nodes can be interchanged one per input row."""

    node_names: Sequence[str]

    def run(self, tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Output logits [batch, pos, classes] and every node's values, stacked with batch on dim 1."""
        ...

    def interchange(self, tokens: torch.Tensor, node_index: torch.Tensor, source_values: torch.Tensor) -> torch.Tensor:
        """Logits when, in row r, node `node_names[node_index[r]]` takes its values `source_values[:, r]`."""
        ...


class CompiledHighLevel:
    """A compiled model as an HL model: interchanging a node cuts every edge out of it and feeds
    its output on the source input instead (node values are the engine's source outputs)."""

    def __init__(self, model: CircuitTransformer, node_names: Sequence[str]) -> None:
        self.node_names = tuple(node_names)
        self.patchable = PatchableModel(model)
        layout = self.patchable.layout
        cuts = torch.stack([torch.tensor([source == node for source in layout.sources]) for node in self.node_names])
        self.node_masks = layout.cut_sources_mask(cuts).to(self.patchable.device)

    def run(self, tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        with torch.no_grad():
            return self.patchable.run_with_sources(tokens)

    def interchange(self, tokens: torch.Tensor, node_index: torch.Tensor, source_values: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return self.patchable.run(tokens, self.node_masks[node_index], source_values)
