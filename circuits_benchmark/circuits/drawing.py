"""Circuit diagrams with Graphviz: embed at the top, output at the bottom, one rank per layer."""

from __future__ import annotations

from pathlib import Path

from circuits_benchmark.circuits import components
from circuits_benchmark.circuits.circuit import Circuit
from circuits_benchmark.errors import BenchmarkError

DRAWING_FORMATS = (".png", ".svg", ".pdf")


def draw_circuit(circuit: Circuit, path: Path, title: str = "", background: Circuit | None = None) -> Path:
    """Renders `circuit` to `path` (.png, .svg or .pdf), component granularity.

    Edges of `background` that are not in the circuit are drawn faint, to show what was left out.
    Raises BenchmarkError for an unsupported file type or a missing Graphviz installation.
    """
    if path.suffix.lower() not in DRAWING_FORMATS:
        raise BenchmarkError(f"cannot draw to {path.name}: use one of {', '.join(DRAWING_FORMATS)}")
    graph = new_graph(title)
    circuit = circuit.canonical()
    shown = circuit if background is None else background.canonical()
    for node in shown.nodes:
        inside = node in circuit.nodes
        graph.add_node(node, fillcolor=_colour(node) if inside else "#f2f2f2", color="black" if inside else "#cccccc")
    kept = set(circuit.edges)
    for source, destination in shown.edges:
        if (source, destination) in kept:
            graph.add_edge(source, destination, color="#333333", penwidth="1.6")
        else:
            graph.add_edge(source, destination, color="#dddddd", constraint="false")
    for rank in sorted({components.layer_of(n) for n in shown.nodes}):
        graph.add_subgraph([n for n in shown.nodes if components.layer_of(n) == rank], rank="same")
    path.parent.mkdir(parents=True, exist_ok=True)
    graph.draw(str(path), prog="dot")
    return path


def new_graph(title: str):  # noqa: ANN201 - a pygraphviz.AGraph
    """An empty top-to-bottom graph in the house style; raises BenchmarkError without Graphviz."""
    try:
        import pygraphviz
    except ImportError:
        raise BenchmarkError("drawing needs pygraphviz (and Debian's graphviz, libgraphviz-dev)") from None

    graph = pygraphviz.AGraph(directed=True, rankdir="TB", label=title, labelloc="t", fontname="Helvetica")
    graph.node_attr.update(shape="box", style="rounded,filled", fontname="Helvetica", fontsize="11")
    return graph


def _colour(node: str) -> str:
    if node in (components.EMBED, components.OUTPUT):
        return "#d9ead3"
    return "#cfe2f3" if node.startswith("a") else "#fce5cd"
