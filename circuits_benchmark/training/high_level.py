"""The high-level (HL) model a SIIT run trains towards: anything that computes the task's output
from token ids and can set one of its nodes to the value it takes on another input.

Two kinds implement it: a tracr-compiled model (`CompiledHighLevel`: nodes are its heads and MLPs,
interventions are masks of the patching engine) and a causal model written in Python
(`ioi.high_level.IoiCausalModel`, `hard.high_level.HardCausalModel`). The objectives see only
this interface.

An interchange intervention sets a set of nodes at once, all to their values on one source input.
A model names the sets it is trained on in `interventions`; one without that attribute is
intervened on one node at a time (`interventions_of`). Node sets are what redundancy needs: a
group of copies, each of which changes nothing when patched alone, must be trained and checked
with its copies patched together too (`hard`). A model whose `strict_interventions` is true is
also intervened on under the strict loss's ablations (`training.objectives`): its circuit alone
must then compute every counterfactual, as the ground-truth checks of redundancy demand. Such a
model with nodes outside its circuit (which the strict loss ablates) also provides
`interchange_sets(tokens, sets, source_values)`, `sets` bool [rows, nodes]: any set per row.
"""

from __future__ import annotations

from typing import Protocol, Sequence

import torch

from circuits_benchmark.models.transformer import CircuitTransformer
from circuits_benchmark.patching.engine import PatchableModel


# A set of HL node names intervened on together.
Intervention = tuple[str, ...]


class HighLevelModel(Protocol):
    """An HL model whose node sets can be interchanged one per input row.

    `interchange`'s `node_index[r]` indexes `interventions_of(model)`: the model's own
    `interventions` attribute when it has one, else its nodes one by one.
    """

    node_names: Sequence[str]

    def run(self, tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Output logits [batch, pos, classes] and every node's values, stacked with batch on dim 1."""
        ...

    def interchange(self, tokens: torch.Tensor, node_index: torch.Tensor, source_values: torch.Tensor) -> torch.Tensor:
        """Logits when, in row r, the nodes of intervention `node_index[r]` take their values `source_values[:, r]`."""
        ...


def interventions_of(model: HighLevelModel) -> tuple[Intervention, ...]:
    """The node sets `model` is intervened on: its `interventions`, else each node alone.

    Raises ValueError for an intervention naming no node or a node the model lacks.
    """
    declared = getattr(model, "interventions", None)
    interventions = tuple(tuple(nodes) for nodes in declared) if declared else tuple((node,) for node in model.node_names)
    unknown = {node for nodes in interventions for node in nodes} - set(model.node_names)
    if unknown or not all(interventions):
        raise ValueError(f"interventions must be non-empty sets of the model's nodes; unknown: {sorted(unknown)}")
    return interventions


def intervenes_under_strict(model: HighLevelModel) -> bool:
    """Whether `model` asks for interventions under the strict ablations (`strict_interventions`)."""
    return bool(getattr(model, "strict_interventions", False))


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
