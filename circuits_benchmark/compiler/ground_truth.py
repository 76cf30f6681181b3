"""Ground-truth circuits of compiled models, read off the weights tracr wrote.

A destination (a head's q/k/v input, an MLP's input, the output) reads a residual direction when
its weight row for that direction is non-zero; the direction's writer is known from compilation.
That gives the circuit under zero ablation, where every read matters, including tracr's constant
helpers (the `one` direction, the BOS token, positions). Under resample or mean ablation a
direction whose value is the same on every input survives the ablation, so only reads of
directions that vary across inputs are edges. Both are restricted to paths from embed to output.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np

from circuits_benchmark.choices import Ablation, Granularity
from circuits_benchmark.circuits import components
from circuits_benchmark.circuits.circuit import Circuit
from circuits_benchmark.circuits.components import EMBED, OUTPUT
from circuits_benchmark.models.transformer import TransformerConfig

# The ablations a ground truth is stored for (`Ablation.ground_truth` maps the others onto them).
GROUND_TRUTH_ABLATIONS = (Ablation.RESAMPLE, Ablation.ZERO)


def destination_reads(
    config: TransformerConfig, weights: Mapping[str, np.ndarray], residual_labels: list[str]
) -> dict[str, set[str]]:
    """Residual labels each destination reads (q/k/v inputs, MLP inputs, output)."""
    def read(matrix: np.ndarray) -> set[str]:
        used = np.abs(matrix).sum(axis=1) > 0
        return {label for label, hit in zip(residual_labels, used) if hit}

    reads: dict[str, set[str]] = {}
    for layer in range(config.n_layers):
        for head in range(config.n_heads):
            for slot, name in zip(components.QKV, ("W_Q", "W_K", "W_V")):
                reads[components.head_input_name(layer, head, slot)] = read(weights[f"blocks.{layer}.attn.{name}"][head])
        if config.d_mlp > 0:
            reads[components.mlp_name(layer)] = read(weights[f"blocks.{layer}.mlp.W_in"])
    reads[OUTPUT] = read(weights["unembed.W_U"])
    return reads


def ground_truth_circuit(
    reads: Mapping[str, set[str]],
    writers_of_label: Mapping[str, list[str]],
    varying_labels: set[str] | None,
) -> Circuit:
    """The q/k/v-level ground truth: writer -> reader for every (varying) direction read.

    `varying_labels=None` means zero ablation (every read is an edge).
    """
    edges = set()
    for destination, labels in reads.items():
        for label in labels:
            if varying_labels is not None and label not in varying_labels:
                continue
            for writer in writers_of_label.get(label, []):
                if components.layer_of(writer) < components.layer_of(destination):
                    edges.add((writer, destination))
    return Circuit(edges, granularity=Granularity.QKV).restricted_to_output_paths()


def varying_residual_labels(
    residual_labels: list[str],
    writers_of_label: Mapping[str, list[str]],
    sop_of_component: Mapping[str, list[str]],
    varying_sops: set[str],
) -> set[str]:
    """Residual labels whose value changes between inputs.

    Token directions vary (except BOS and PAD, fixed in place); positions and `one` do not;
    a component's directions vary when the SOp it computes does.
    """
    varying = set()
    for label in residual_labels:
        writers = writers_of_label.get(label, [])
        writer = writers[0] if writers else None  # the first writer computes the value
        if writer == EMBED:
            name, _, value = label.partition(":")
            if name == "tokens" and value not in ("BOS", "PAD"):
                varying.add(label)
        elif writer is not None:
            sop = label.split(":")[0]
            sops = [sop] if sop in sop_of_component[writer] else sop_of_component[writer]
            if any(s in varying_sops for s in sops):
                varying.add(label)
    return varying
