"""The one circuit type: a set of nodes and edges of a transformer's computational graph.

Two granularities share the type. At "qkv" granularity an edge into a head names the input it
enters (`a1.h0.q`); at "component" granularity (canonical, used for scoring) q/k/v inputs are
promoted to their head. Node names are those of `circuits.components`.
"""

from __future__ import annotations

import json
from typing import Iterable

import networkx as nx

from circuits_benchmark.choices import Granularity
from circuits_benchmark.circuits import components
from circuits_benchmark.circuits.components import EMBED, OUTPUT, QKV

Edge = tuple[str, str]


class Circuit:
    """Nodes and directed edges (source -> destination), backed by a networkx DiGraph."""

    def __init__(self, edges: Iterable[Edge], nodes: Iterable[str] = (), granularity: Granularity = Granularity.COMPONENT) -> None:
        self.granularity = Granularity.parse(granularity)
        self.graph = nx.DiGraph()
        self.graph.add_nodes_from(nodes)
        for source, destination in edges:
            self.graph.add_edge(source, components.component_of(destination) if self.granularity == Granularity.COMPONENT else destination)

    @property
    def nodes(self) -> list[str]:
        """Component nodes in forward order (q/k/v inputs are reported as their head)."""
        names = {components.component_of(n) for n in self.graph.nodes}
        return sorted(names, key=_forward_order)

    @property
    def edges(self) -> list[Edge]:
        """Edges in forward order of their destination, then source."""
        return sorted(self.graph.edges, key=lambda e: (_forward_order(e[1]), _forward_order(e[0])))

    def canonical(self) -> "Circuit":
        """The same circuit at component granularity."""
        return Circuit(self.edges, self.nodes, granularity=Granularity.COMPONENT)

    def restricted_to_output_paths(self) -> "Circuit":
        """Only the edges that lie on a path from `embed` to `output` (dead ends removed)."""
        component_graph = nx.DiGraph()
        for source, destination in self.graph.edges:
            component_graph.add_edge(source, components.component_of(destination))
        if EMBED not in component_graph or OUTPUT not in component_graph:
            return Circuit([], granularity=self.granularity)
        alive = nx.descendants(component_graph, EMBED) | {EMBED}
        alive &= nx.ancestors(component_graph, OUTPUT) | {OUTPUT}
        kept = [(s, d) for s, d in self.graph.edges if s in alive and components.component_of(d) in alive]
        return Circuit(kept, granularity=self.granularity)

    def without_edge(self, edge: Edge) -> "Circuit":
        """A copy with one edge removed (its nodes stay)."""
        return Circuit([e for e in self.edges if e != edge], self.graph.nodes, self.granularity)

    def to_dict(self) -> dict:
        """JSON-ready form: granularity, nodes and edges as [source, destination] pairs."""
        return {
            "granularity": self.granularity,
            "nodes": self.nodes,
            "edges": [list(edge) for edge in self.edges],
        }

    @classmethod
    def from_dict(cls, data: dict) -> "Circuit":
        """Inverse of `to_dict`; raises ValueError for a malformed dict."""
        try:
            return cls([tuple(e) for e in data["edges"]], data["nodes"], data["granularity"])
        except (KeyError, TypeError) as error:
            raise ValueError(f"malformed circuit JSON: {error}") from None

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    @classmethod
    def from_json(cls, text: str) -> "Circuit":
        return cls.from_dict(json.loads(text))

    def to_text(self) -> str:
        """Readable listing: one line per destination with its sources."""
        lines = [f"{len(self.nodes)} nodes, {len(self.edges)} edges ({self.granularity} granularity)"]
        incoming: dict[str, list[str]] = {}
        for source, destination in self.edges:
            incoming.setdefault(destination, []).append(source)
        for destination, sources in incoming.items():
            lines.append(f"  {destination:<10} <- {', '.join(sources)}")
        return "\n".join(lines)

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Circuit)
            and self.granularity == other.granularity
            and set(self.graph.edges) == set(other.graph.edges)
            and set(self.nodes) == set(other.nodes)
        )

    def __repr__(self) -> str:
        return f"Circuit({len(self.nodes)} nodes, {len(self.edges)} edges, {self.granularity})"


def full_circuit(n_layers: int, n_heads: int, has_mlp: bool = True, granularity: Granularity = Granularity.COMPONENT) -> Circuit:
    """Every edge of a model's computational graph: each source feeds every later destination."""
    edges: list[Edge] = []
    upstream = [EMBED]
    for layer in range(n_layers):
        heads = [components.head_name(layer, h) for h in range(n_heads)]
        for head in heads:
            for slot in QKV:
                destination = f"{head}.{slot}" if granularity == Granularity.QKV else head
                edges.extend((source, destination) for source in upstream)
        upstream = upstream + heads
        if has_mlp:
            edges.extend((source, components.mlp_name(layer)) for source in upstream)
            upstream = upstream + [components.mlp_name(layer)]
    edges.extend((source, OUTPUT) for source in upstream)
    return Circuit(edges, upstream + [OUTPUT], granularity)


def _forward_order(node: str) -> tuple[float, str]:
    return components.layer_of(node), node
