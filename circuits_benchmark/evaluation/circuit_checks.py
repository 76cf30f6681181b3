"""Judging circuits on a model by output change: a ground truth's sufficiency and necessity, the
realism of any circuit, and each node's ablation effect. Everything is measured with the one
evaluation harness (`patching.output_change.PatchingBatch`), so a trained model's ground truth is
judged by the same comparison as a discovered circuit.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from circuits_benchmark.choices import Ablation
from circuits_benchmark.circuits.circuit import Circuit
from circuits_benchmark.circuits.components import EMBED, OUTPUT
from circuits_benchmark.errors import BenchmarkError
from circuits_benchmark.evaluation.figures import pyplot, save_png
from circuits_benchmark.models.benchmark_model import BenchmarkModel
from circuits_benchmark.patching.output_change import OutputChange, PatchingBatch

# The bar a trained model's ground truth must clear to count as faithful: at most this fraction
# of output positions may change when everything outside it is ablated (the training target's
# complement, 99.5% unchanged).
FAITHFULNESS_TOLERANCE = 0.005
# A ground-truth node or edge is necessary when removing it changes the output on at least this
# share of input pairs: 5 of the default 500, well above what one unlucky pair could do.
NECESSITY_SHARE = 0.01


def ablate_outside(batch: PatchingBatch, circuit: Circuit, ablation: Ablation = Ablation.RESAMPLE) -> OutputChange:
    """Output change when every node outside `circuit` is ablated (all its outgoing edges; embed stays)."""
    outside = set(batch.patchable.layout.sources) - set(circuit.nodes) - {EMBED}
    return batch.change(batch.cut_nodes_mask(outside), ablation)


@dataclasses.dataclass(frozen=True)
class GroundTruthCheck:
    """A model's ground truth judged the way `cases verify` judges a compiled one, under one ablation.

    Sufficiency: keep only the ground truth's edges, ablate every other one (`kept`): faithful when
    at most `FAITHFULNESS_TOLERANCE` of the output positions change. Necessity: remove one ground-truth node
    (every edge out of it) or one ground-truth edge, keep the rest of the ground truth, ablate
    everything else (`removals`, keyed by node name or `source->destination`): that part is
    necessary when outputs change on at least `NECESSITY_SHARE` of the input pairs.
    """

    model_id: str
    ablation: str
    kept: OutputChange
    removals: dict[str, OutputChange]

    @property
    def faithful(self) -> bool:
        return self.kept.changed_fraction <= FAITHFULNESS_TOLERANCE

    @property
    def redundant(self) -> list[str]:
        """Nodes and edges of the ground truth whose removal changes too few outputs."""
        return [part for part, change in self.removals.items() if change.changed_inputs < NECESSITY_SHARE * change.inputs]

    @property
    def minimal(self) -> bool:
        return not self.redundant

    def summary(self) -> str:
        """One line: 'faithful, minimal' or what failed."""
        faithful = "faithful" if self.faithful else f"UNFAITHFUL ({100 * self.kept.changed_fraction:.2f}% changed)"
        minimal = "minimal" if self.minimal else f"redundant: {', '.join(self.redundant)}"
        return f"{faithful}, {minimal}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "model_id": self.model_id,
            "ablation": self.ablation,
            "faithful": self.faithful,
            "minimal": self.minimal,
            "tolerance": FAITHFULNESS_TOLERANCE,
            "necessity_share": NECESSITY_SHARE,
            "redundant": self.redundant,
            **self.kept.to_dict(),
            "removals": {part: change.to_dict() for part, change in self.removals.items()},
        }


def ground_truth_check(
    batch: PatchingBatch, model: BenchmarkModel, ablation: Ablation = Ablation.RESAMPLE
) -> GroundTruthCheck:
    """Sufficiency and necessity of `model`'s ground truth on its `batch` (see `GroundTruthCheck`).

    Raises BenchmarkError for a model without a ground truth.
    """
    if not model.ground_truths:
        raise BenchmarkError(f"{model.model_id} has no ground truth to check")
    truth = model.ground_truths[Ablation.parse(ablation).ground_truth]
    layout = batch.patchable.layout
    kept = layout.mask_for(truth)
    removals = {
        node: batch.change(kept * batch.cut_nodes_mask({node}), ablation)
        for node in truth.nodes
        if node not in (EMBED, OUTPUT)
    }
    for edge in truth.edges:
        removals[f"{edge[0]}->{edge[1]}"] = batch.change(layout.mask_for(truth.without_edge(edge)), ablation)
    return GroundTruthCheck(model.model_id, ablation, batch.change(kept, ablation), removals)


@dataclasses.dataclass(frozen=True)
class NodeEffect:
    """Output change when one node is ablated, per ablation kind."""

    node: str
    in_circuit: bool
    effects: dict[str, OutputChange]

    def to_dict(self) -> dict[str, Any]:
        return {"node": self.node, "in_circuit": self.in_circuit, **{k: v.to_dict() for k, v in self.effects.items()}}


def node_ablation_effects(batch: PatchingBatch, circuit: Circuit) -> list[NodeEffect]:
    """Resample, zero and mean ablation of each head and MLP alone (all its outgoing edges)."""
    inside = set(circuit.nodes)
    effects = []
    for node in batch.patchable.layout.sources:
        if node != EMBED:
            masks = batch.cut_nodes_mask({node})
            effects.append(NodeEffect(node, node in inside, {kind: batch.change(masks, kind) for kind in Ablation}))
    return effects


def draw_node_effects(effects: list[NodeEffect], title: str, path: Path) -> None:
    """Bar chart of per-node output change under each ablation, circuit nodes set apart by colour."""
    plt = pyplot()

    figure, axis = plt.subplots(figsize=(max(6.0, 0.6 * len(effects) + 2), 4))
    width = 0.8 / len(Ablation)
    hatches = {Ablation.RESAMPLE: "", Ablation.ZERO: "//", Ablation.MEAN: ".."}
    for k, kind in enumerate(Ablation):
        xs = [i + (k - 1) * width for i in range(len(effects))]
        values = [e.effects[kind].changed_fraction for e in effects]
        colours = ["tab:red" if e.in_circuit else "tab:blue" for e in effects]
        axis.bar(xs, values, width, color=colours, hatch=hatches[kind], edgecolor="black", linewidth=0.5, label=kind)
    axis.set_xticks(range(len(effects)), [e.node for e in effects], rotation=45, ha="right")
    axis.set_ylabel("output positions changed")
    axis.set_ylim(0, 1)
    axis.set_title(f"{title}\nred: circuit nodes, blue: outside; hatch: ablation", fontsize=10)
    handles = [plt.Rectangle((0, 0), 1, 1, facecolor="white", edgecolor="black", hatch=hatches[k]) for k in Ablation]
    axis.legend(handles, list(Ablation), loc="upper right")
    save_png(figure, path)
