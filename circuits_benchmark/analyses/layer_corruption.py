"""Layer corruption, scored against the known circuit: skip, repeat, swap or reverse whole layers
and see whether the outputs change where the ground truth says they must.

Researchers corrupt real models this way to find where a behaviour lives; on real models nobody
can say whether the conclusion is right. Here each layer either holds ground-truth nodes (a head or
MLP of the circuit) or not, so every corruption has a prediction: one that removes, repeats or moves
a circuit layer should change outputs; one that touches only layers without circuit nodes should
change nothing. A corruption is observed to change the model when more than CHANGE_THRESHOLD of
the counted output positions change their prediction (argmax; numerical outputs: beyond the
batch's tolerance); the analysis is right where prediction and observation agree.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import torch

from circuits_benchmark.circuits.circuit import Circuit
from circuits_benchmark.circuits import components
from circuits_benchmark.circuits.components import EMBED, OUTPUT
from circuits_benchmark.evaluation.circuit_checks import FAITHFULNESS_TOLERANCE
from circuits_benchmark.evaluation.figures import pyplot, save_png
from circuits_benchmark.patching.output_change import PatchingBatch

# More than this share of output positions must change for a corruption to count as a change
# (the same bar a trained model's ground truth must clear to count as faithful).
CHANGE_THRESHOLD = FAITHFULNESS_TOLERANCE
# Bar colour by the circuit's prediction: change, no change, no circuit.
_COLOURS = {True: "tab:red", False: "tab:blue", None: "tab:grey"}


@dataclasses.dataclass(frozen=True)
class Corruption:
    """A layer order (the layers run, in order) and the layers it removes, repeats or moves."""

    name: str
    order: tuple[int, ...]
    touched: frozenset[int]


@dataclasses.dataclass(frozen=True)
class CorruptionResult:
    """What one corruption did: the share of output positions whose prediction changed, the mean
    distance to the uncorrupted output (KL, or absolute change), and the circuit's prediction
    (None for a model without a known circuit)."""

    corruption: Corruption
    changed_fraction: float
    mean_change: float
    predicted_change: bool | None

    @property
    def observed_change(self) -> bool:
        return self.changed_fraction > CHANGE_THRESHOLD

    @property
    def agrees(self) -> bool | None:
        return None if self.predicted_change is None else self.observed_change == self.predicted_change

    def to_dict(self) -> dict[str, Any]:
        return {
            "corruption": self.corruption.name,
            "order": list(self.corruption.order),
            "touched_layers": sorted(self.corruption.touched),
            "changed_fraction": self.changed_fraction,
            "mean_change": self.mean_change,
            "predicted_change": self.predicted_change,
            "observed_change": self.observed_change,
            "agrees": self.agrees,
        }


def corruptions(n_layers: int) -> list[Corruption]:
    """Skip each layer; skip the first or last k (k < n_layers); repeat each layer; swap each
    neighbouring pair; and, with three layers or more, reverse them all."""
    layers = tuple(range(n_layers))
    found = [Corruption(f"skip {l}", layers[:l] + layers[l + 1 :], frozenset({l})) for l in layers]
    for k in range(2, n_layers):
        found.append(Corruption(f"skip first {k}", layers[k:], frozenset(layers[:k])))
        found.append(Corruption(f"skip last {k}", layers[:-k], frozenset(layers[-k:])))
    found += [Corruption(f"repeat {l}", layers[: l + 1] + (l,) + layers[l + 1 :], frozenset({l})) for l in layers]
    for l in layers[:-1]:
        swapped = layers[:l] + (l + 1, l) + layers[l + 2 :]
        found.append(Corruption(f"swap {l}-{l + 1}", swapped, frozenset({l, l + 1})))
    if n_layers >= 3:
        reverse = layers[::-1]
        found.append(Corruption("reverse", reverse, frozenset(l for l, r in zip(layers, reverse) if l != r)))
    return found


def circuit_layers(circuit: Circuit) -> set[int]:
    """The layers holding a node of the circuit (`a1.h0` and `m1` are in layer 1)."""
    return {int(components.layer_of(node)) for node in circuit.nodes if node not in (EMBED, OUTPUT)}


def corrupt_layers(batch: PatchingBatch, circuit: Circuit | None) -> list[CorruptionResult]:
    """Every corruption of `corruptions` on the batch's clean inputs, with the circuit's prediction
    (none without a circuit)."""
    model = batch.patchable.model
    needed = None if circuit is None else circuit_layers(circuit)
    results = []
    for corruption in corruptions(model.cfg.n_layers):
        with torch.no_grad():
            corrupted = model.run_layers(batch.clean, corruption.order)
        change = batch.compare(corrupted)
        predicted = None if needed is None else bool(corruption.touched & needed)
        results.append(CorruptionResult(corruption, change.changed_fraction, change.mean_change, predicted))
    return results


def agreement(results: list[CorruptionResult]) -> float | None:
    """The share of corruptions whose observed effect is the one the circuit predicts (None without one)."""
    scored = [r.agrees for r in results if r.agrees is not None]
    return sum(scored) / len(scored) if scored else None


def draw_corruptions(results: list[CorruptionResult], title: str, path: Path) -> None:
    """Bar per corruption: the share of positions changed; red where the circuit predicts a change,
    blue where it predicts none, grey without a circuit; a hatched bar marks a disagreement."""
    plt = pyplot()

    figure, axis = plt.subplots(figsize=(max(6.0, 0.45 * len(results) + 2), 4))
    for i, result in enumerate(results):
        axis.bar(
            i, max(result.changed_fraction, 0.002), color=_COLOURS[result.predicted_change],
            hatch="xx" if result.agrees is False else "", edgecolor="black", linewidth=0.5,
        )
    axis.axhline(CHANGE_THRESHOLD, color="grey", linestyle="--", linewidth=0.8)
    axis.set_xticks(range(len(results)), [r.corruption.name for r in results], rotation=45, ha="right")
    axis.set_ylabel("output positions changed")
    axis.set_ylim(0, 1)
    agreed = agreement(results)
    if agreed is None:
        axis.set_title(f"{title}: no known circuit to predict with", fontsize=10)
    else:
        axis.set_title(f"{title}: agreement with the circuit {100 * agreed:.0f}%\n"
                       "red: circuit predicts a change, blue: none; hatched: disagrees", fontsize=10)
    save_png(figure, path)
