"""The high-level (HL) model a SIIT run trains towards: anything that computes the task's output
from token ids and can set one of its nodes to the value it takes on another input.

Two kinds implement it: a tracr-compiled model (`CompiledHighLevel`: nodes are its heads and MLPs,
an intervention replaces a node's output, as the patching engine does when it cuts every edge out
of the node) and a causal model written in Python
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
from circuits_benchmark.circuits import components


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
    """A compiled model as an HL model: interchanging a node replaces its output, as every later
    node reads it, by its output on the source input (node values are the nodes' outputs).

    This is what the patching engine computes when it cuts every edge out of the node, made as a
    plain forward pass: the engine mixes every destination's input separately, and with one mask
    per row that cost most of a training step's HL time on wide tracr models (d_model 234).
    """

    def __init__(self, model: CircuitTransformer, node_names: Sequence[str]) -> None:
        self.node_names = tuple(node_names)
        self.model = model
        cfg = model.cfg
        # tracr pads every MLP to the widest one; the dead units change nothing and cost most.
        self._mlp_units = [model.live_mlp_units(layer) for layer in range(cfg.n_layers)] if cfg.d_mlp > 0 else []
        index = {node: i for i, node in enumerate(self.node_names)}
        # Per layer: (head, node index) of its heads that are nodes, and its MLP's node index (None: not a node).
        self._head_nodes = [
            [(head, index[components.head_name(layer, head)]) for head in range(cfg.n_heads) if components.head_name(layer, head) in index]
            for layer in range(cfg.n_layers)
        ]
        self._mlp_nodes = [index.get(components.mlp_name(layer)) for layer in range(cfg.n_layers)]
        unknown = set(self.node_names) - set(components.sources(cfg.n_layers, cfg.n_heads, cfg.d_mlp > 0)[1:])
        if unknown:
            raise ValueError(f"the compiled model has no head or MLP {', '.join(sorted(unknown))}")

    def run(self, tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self._forward(tokens, None, None)

    def interchange(self, tokens: torch.Tensor, node_index: torch.Tensor, source_values: torch.Tensor) -> torch.Tensor:
        replaced = torch.nn.functional.one_hot(node_index, len(self.node_names)).bool()
        return self._forward(tokens, replaced, source_values)[0]

    def _forward(
        self, tokens: torch.Tensor, replaced: torch.Tensor | None, source_values: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Logits and the nodes' outputs [nodes, batch, pos, d_model] of a pass in which, where
        `replaced[r, i]` (bool [rows, nodes]), node i's output in row r is `source_values[i, r]`
        (None: no node replaced)."""
        model = self.model
        values: list[torch.Tensor | None] = [None] * len(self.node_names)

        def node_output(node: int, output: torch.Tensor) -> torch.Tensor:
            values[node] = output
            if replaced is None:
                return output
            return torch.where(replaced[:, node].view(-1, 1, 1), source_values[node], output)

        with torch.no_grad():
            resid = model.embed.W_E[tokens] + model.pos_embed.W_pos[: tokens.shape[1]]
            for layer, block in enumerate(model.blocks):
                heads = model.attention_heads(block.attn, resid, resid, resid)
                for head, node in self._head_nodes[layer]:
                    heads[:, :, head] = node_output(node, heads[:, :, head].clone())
                resid = resid + heads.sum(dim=2) + model.attention_bias(block.attn)
                if self._mlp_units:
                    mlp_out = model.mlp(block.mlp, resid, units=self._mlp_units[layer])
                    node = self._mlp_nodes[layer]
                    resid = resid + (mlp_out if node is None else node_output(node, mlp_out))
            return model.unembed_residual(resid), torch.stack(values)
