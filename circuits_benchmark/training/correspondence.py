"""Which low-level (LL) nodes realise each high-level (HL, tracr) node, and what follows from it.

The correspondence is the one source of truth of a trained model's circuit: the IIT loss patches
an HL node and its LL nodes together, the strict loss ablates what lies outside the LL image of
the HL ground truth, and that image is the LL ground truth stored with the model and scored
against. All three come from `ll_ground_truths(correspondence, hl_ground_truths)` here.

Sizing rule (`ll_config`): the LL model has at least 2 layers and at least 4 heads per layer (one
more than tracr's widest layer where that has 4 or more), so every case has LL components outside
the circuit; d_model is about half of tracr's (at least 8, rounded up to a multiple of 4), which
is strictly smaller for every case since tracr spends one dimension per value of every variable;
d_head = d_model / n_heads and d_mlp = 4 d_model. HL head `a{l}.h{h}` maps to LL head
`a{l}.h{h}` and HL MLP `m{l}` to LL MLP `m{l}`, which keeps the HL order of computation.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Mapping

from circuits_benchmark.circuits import components
from circuits_benchmark.circuits.circuit import Circuit
from circuits_benchmark.circuits.components import EMBED, OUTPUT
from circuits_benchmark.models.transformer import TransformerConfig

MIN_LAYERS = 2
MIN_HEADS = 4
MIN_D_MODEL = 8


def ll_config(hl_config: TransformerConfig) -> TransformerConfig:
    """The LL model's shape for a tracr model's shape (the sizing rule of the module docstring).

    Raises ValueError when tracr's d_model is too small for a strictly smaller LL d_model.
    """
    n_heads = max(MIN_HEADS, hl_config.n_heads + 1)
    d_model = max(MIN_D_MODEL, 4 * math.ceil(hl_config.d_model / 8))
    if d_model >= hl_config.d_model:
        raise ValueError(f"tracr d_model {hl_config.d_model} leaves no smaller LL d_model of at least {MIN_D_MODEL}")
    return TransformerConfig(
        n_layers=max(MIN_LAYERS, hl_config.n_layers),
        n_heads=n_heads,
        d_model=d_model,
        d_head=max(1, d_model // n_heads),
        d_mlp=4 * d_model,
        d_vocab=hl_config.d_vocab,
        d_vocab_out=hl_config.d_vocab_out,
        n_ctx=hl_config.n_ctx,
        causal=hl_config.causal,
        output_kind=hl_config.output_kind,
        use_bias=True,
    )


@dataclasses.dataclass(frozen=True)
class Correspondence:
    """HL node name -> the LL node names that realise it (heads map to heads, MLPs to MLPs)."""

    mapping: Mapping[str, tuple[str, ...]]

    @property
    def hl_nodes(self) -> list[str]:
        """The HL nodes, in the forward order of their (first) LL nodes."""
        return sorted(self.mapping, key=lambda n: (components.layer_of(self.mapping[n][0]), n))

    def ll_nodes_of(self, hl_node: str) -> tuple[str, ...]:
        """LL nodes of an HL node; embed and output map to themselves."""
        if hl_node in (EMBED, OUTPUT):
            return (hl_node,)
        return tuple(self.mapping[hl_node])

    def map_circuit(self, hl_circuit: Circuit) -> Circuit:
        """The LL image of an HL circuit at the same granularity.

        Every HL edge s -> d becomes s' -> d' for each LL node s' of s and d' of d; an edge into
        a head's q, k or v input keeps its slot.
        """
        edges = []
        for source, destination in hl_circuit.graph.edges:
            component = components.component_of(destination)
            slot = destination[len(component) + 1 :] if destination != component else ""
            for ll_destination in self.ll_nodes_of(component):
                target = f"{ll_destination}.{slot}" if slot else ll_destination
                edges.extend((ll_source, target) for ll_source in self.ll_nodes_of(source))
        nodes = [ll for node in hl_circuit.nodes for ll in self.ll_nodes_of(node)]
        return Circuit(edges, nodes, hl_circuit.granularity)

    def to_dict(self) -> dict[str, list[str]]:
        """JSON-ready form: HL node -> list of LL nodes."""
        return {node: list(self.mapping[node]) for node in self.hl_nodes}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Correspondence":
        """Inverse of `to_dict`."""
        return cls({node: tuple(ll) for node, ll in data.items()})


def build_correspondence(hl_ground_truths: Mapping[str, Circuit], ll: TransformerConfig) -> Correspondence:
    """Maps every HL head or MLP that any HL ground truth uses onto the LL node at the same place.

    Raises ValueError when the LL model lacks a node at that place (a config smaller than tracr's).
    """
    hl_nodes = {n for circuit in hl_ground_truths.values() for n in circuit.nodes} - {EMBED, OUTPUT}
    ll_sources = set(components.sources(ll.n_layers, ll.n_heads, ll.d_mlp > 0))
    missing = sorted(hl_nodes - ll_sources)
    if missing:
        raise ValueError(f"the LL model has no node for HL node(s) {', '.join(missing)}")
    return Correspondence({node: (node,) for node in hl_nodes})


def ll_ground_truths(correspondence: Correspondence, hl_ground_truths: Mapping[str, Circuit]) -> dict[str, Circuit]:
    """The LL ground truth per ablation: the image of each HL ground truth (q/k/v granularity)."""
    return {ablation: correspondence.map_circuit(circuit) for ablation, circuit in hl_ground_truths.items()}

