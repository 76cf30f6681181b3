"""The three levels at which a method's answer is judged against the ground truth.

- **edges** (the primary level): q/k/v edges, the granularity the ground truth is stored at and every
  method scores. Every edge of the model's q/k/v graph is a candidate, and no aggregation is needed,
  so a random ranking's expected AUROC is exactly 0.5.
- **component_edges** (a second view, comparable with InterpBench's edge AUROC): an edge into a head
  stands for its q, k and v edges. A ranking scores it with the *mean* of their scores. The maximum
  (InterpBench's choice) is biased: the maximum of three random scores beats one random score three
  times in four, and true edges enter heads less often than other edges do (17% against 32% on
  tracr:21), so a random ranking's expected AUROC fell to 0.45. The mean of scores drawn
  independently from one distribution that is symmetric about its centre (the random baseline's
  uniform scores) is symmetric about that centre too, whatever their number, so any two candidates
  are equally likely to be ordered either way: the expected AUROC is 0.5 again.
- **nodes** (a second view): heads and MLPs (embed and output belong to every circuit). A ranking
  scores a node with the mean score of the q/k/v edges into and out of it, unbiased by the same
  symmetry (the maximum favoured nodes with many edges: 0.39 for random on tracr:21).

A threshold sweep's points are circuits, not rankings: at every level a point keeps what its
circuit keeps (a component edge or node when any of its q/k/v edges is kept), so the component and
node views of a sweep read its circuits as InterpBench does; the primary level needs no such rule.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Iterable, Mapping

from circuits_benchmark.choices import RocSource
from circuits_benchmark.circuits.circuit import Circuit, Edge
from circuits_benchmark.circuits.components import EMBED, OUTPUT, component_of
from circuits_benchmark.evaluation.roc import Confusion, auroc, roc_from_circuits, roc_from_scores

LEVELS = ("edges", "component_edges", "nodes")
PRIMARY_LEVEL = "edges"


def scored_nodes(circuit: Circuit) -> set[str]:
    """The nodes that count for node-level scoring (heads and MLPs)."""
    return {n for n in circuit.canonical().nodes if n not in (EMBED, OUTPUT)}


def _mean_by(keyed_scores: Iterable[tuple[Any, float]]) -> dict[Any, float]:
    """The mean score per key of (key, score) pairs."""
    totals: dict[Any, list[float]] = {}
    for key, score in keyed_scores:
        totals.setdefault(key, []).append(score)
    return {key: sum(values) / len(values) for key, values in totals.items()}


def level_scores(qkv_scores: Mapping[Edge, float]) -> dict[str, dict[Any, float]]:
    """A q/k/v-level score ranking at every level (means, as the module docstring says)."""
    component = _mean_by(((source, component_of(destination)), score) for (source, destination), score in qkv_scores.items())
    touching = (
        (node, score)
        for (source, destination), score in qkv_scores.items()
        for node in (source, component_of(destination))
        if node not in (EMBED, OUTPUT)
    )
    return {"edges": dict(qkv_scores), "component_edges": component, "nodes": _mean_by(touching)}


def level_sets(circuit: Circuit) -> dict[str, set]:
    """What a q/k/v-granularity circuit keeps at every level."""
    return {"edges": set(circuit.graph.edges), "component_edges": set(circuit.canonical().edges), "nodes": scored_nodes(circuit)}


@dataclasses.dataclass(frozen=True)
class Candidates:
    """At each level, the candidates and the true ones among them (don't-care ones left out of both)."""

    truth: dict[str, set]
    candidates: dict[str, set]

    @classmethod
    def of(cls, truth: Circuit, full: Circuit, dont_care: set[Edge], dont_care_components: tuple[set[Edge], set[str]]) -> "Candidates":
        """From the q/k/v ground truth and full graph, the q/k/v don't-care edges, and the don't-care
        component edges and nodes (`BenchmarkModel.dont_care_components`)."""
        idle_edges, idle_nodes = dont_care_components
        idle = {"edges": dont_care, "component_edges": idle_edges, "nodes": idle_nodes}
        true_sets, all_sets = level_sets(truth), level_sets(full)
        return cls({level: true_sets[level] - idle[level] for level in LEVELS}, {level: all_sets[level] - idle[level] for level in LEVELS})


@dataclasses.dataclass(frozen=True)
class TruthEvaluation:
    """A run judged against the ground truth: the confusion of the circuit at the run's threshold,
    and the ROC and AUROC, per level (`LEVELS`); the ROC comes from the sweep's circuits
    (roc_source "sweep") or the score ranking ("ranking")."""

    at_threshold: dict[str, Confusion]
    roc_source: RocSource
    rocs: dict[str, list[tuple[float, float]]]

    @property
    def aurocs(self) -> dict[str, float | None]:
        return {level: auroc(points) for level, points in self.rocs.items()}

    @property
    def edge_auroc(self) -> float | None:
        """The primary number: AUROC over q/k/v edges."""
        return self.aurocs["edges"]

    @property
    def component_edge_auroc(self) -> float | None:
        return self.aurocs["component_edges"]

    @property
    def node_auroc(self) -> float | None:
        return self.aurocs["nodes"]

    def to_dict(self) -> dict[str, Any]:
        return {
            "at_threshold": {level: confusion.to_dict() for level, confusion in self.at_threshold.items()},
            "roc_source": self.roc_source,
            "rocs": self.rocs,
            "edge_auroc": self.edge_auroc,
            "component_edge_auroc": self.component_edge_auroc,
            "node_auroc": self.node_auroc,
        }


def evaluate_against_truth(
    qkv_scores: Mapping[Edge, float], sweep: list[Circuit], circuit: Circuit, candidates: Candidates
) -> TruthEvaluation:
    """ROC, AUROC and the confusion at the threshold at every level, from a q/k/v score ranking or
    (when `sweep` has more than one circuit) from the sweep's q/k/v circuits."""
    truth, allowed = candidates.truth, candidates.candidates
    if len(sweep) > 1:
        kept = [level_sets(point) for point in sweep]
        rocs = {level: roc_from_circuits((k[level] for k in kept), truth[level], allowed[level]) for level in LEVELS}
        source = RocSource.SWEEP
    else:
        ranked = level_scores(qkv_scores)
        rocs = {level: roc_from_scores(ranked[level], truth[level], allowed[level]) for level in LEVELS}
        source = RocSource.RANKING
    at_circuit = level_sets(circuit)
    at_threshold = {level: Confusion.of(at_circuit[level], truth[level], allowed[level]) for level in LEVELS}
    return TruthEvaluation(at_threshold, source, rocs)
