"""Ground truth read off tracr-style weights and residual labels, on a hand-made two-layer model.

The toy residual stream (one row per label) and who writes each direction:

    0 one           embed   (constant)
    1 tokens:BOS    embed   (fixed in place)
    2 tokens:a      embed   (varies)
    3 tokens:PAD    embed   (fixed in place)
    4 indices:1     embed   (positions: constant across inputs)
    5 aggregate_1   a0.h0   (SOp aggregate_1, varies)
    6 map_2:x       m0      (SOp map_2, constant)
    7 map_3:y       m1      (SOp map_3, varies)

Reads (non-zero rows of each destination's weight matrix):

    a0.h0.q  indices:1, map_3:y (a read of a later writer: never an edge)
    a0.h0.k  indices:1, tokens:BOS
    a0.h0.v  tokens:a
    m0       one
    a1.h0.q  -, a1.h0.k -, a1.h0.v map_2:x   (a1.h0 writes nothing anyone reads: a dead end)
    m1       aggregate_1 (row [1, -1]: sums to 0, still a read), map_2:x
    output   map_3:y
"""

from __future__ import annotations

import numpy as np
import pytest

from circuits_benchmark.choices import Ablation
from circuits_benchmark.circuits.circuit import Circuit
from circuits_benchmark.compiler.ground_truth import (
    GROUND_TRUTH_ABLATIONS,
    destination_reads,
    ground_truth_circuit,
    varying_residual_labels,
)
from circuits_benchmark.errors import BenchmarkError
from circuits_benchmark.models.transformer import TransformerConfig

LABELS = ["one", "tokens:BOS", "tokens:a", "tokens:PAD", "indices:1", "aggregate_1", "map_2:x", "map_3:y"]
ROW = {label: i for i, label in enumerate(LABELS)}
WRITERS = {
    "one": ["embed"],
    "tokens:BOS": ["embed"],
    "tokens:a": ["embed"],
    "tokens:PAD": ["embed"],
    "indices:1": ["embed"],
    "aggregate_1": ["a0.h0"],
    "map_2:x": ["m0"],
    "map_3:y": ["m1"],
}
SOPS = {"a0.h0": ["aggregate_1"], "m0": ["map_2"], "m1": ["map_3"], "a1.h0": ["aggregate_4"]}
VARYING_SOPS = {"aggregate_1", "map_3"}

CONFIG = TransformerConfig(
    n_layers=2, n_heads=1, d_model=len(LABELS), d_head=2, d_mlp=2, d_vocab=4, d_vocab_out=3, n_ctx=3, causal=False
)


def toy_weights() -> dict[str, np.ndarray]:
    d, h, m = CONFIG.d_model, CONFIG.d_head, CONFIG.d_mlp
    w = {}
    for layer in range(2):
        for name in ("W_Q", "W_K", "W_V"):
            w[f"blocks.{layer}.attn.{name}"] = np.zeros((1, d, h))
        w[f"blocks.{layer}.mlp.W_in"] = np.zeros((d, m))
    w["unembed.W_U"] = np.zeros((d, CONFIG.d_vocab_out))
    w["blocks.0.attn.W_Q"][0, ROW["indices:1"], 0] = 1.0
    w["blocks.0.attn.W_Q"][0, ROW["map_3:y"], 1] = 0.5
    w["blocks.0.attn.W_K"][0, ROW["indices:1"], 1] = 2.0
    w["blocks.0.attn.W_K"][0, ROW["tokens:BOS"], 0] = -1.0
    w["blocks.0.attn.W_V"][0, ROW["tokens:a"], 0] = 1.0
    w["blocks.0.mlp.W_in"][ROW["one"], 1] = -3.0
    w["blocks.1.attn.W_V"][0, ROW["map_2:x"], 1] = 1.0
    w["blocks.1.mlp.W_in"][ROW["aggregate_1"]] = [1.0, -1.0]  # |.| summed, not the signed sum
    w["blocks.1.mlp.W_in"][ROW["map_2:x"], 0] = 0.25
    w["unembed.W_U"][ROW["map_3:y"], 2] = 1.0
    return w


EXPECTED_READS = {
    "a0.h0.q": {"indices:1", "map_3:y"},
    "a0.h0.k": {"indices:1", "tokens:BOS"},
    "a0.h0.v": {"tokens:a"},
    "m0": {"one"},
    "a1.h0.q": set(),
    "a1.h0.k": set(),
    "a1.h0.v": {"map_2:x"},
    "m1": {"aggregate_1", "map_2:x"},
    "output": {"map_3:y"},
}


# ------------------------------------------- which stored ground truth holds (was stored_ablation)


def test_stored_ground_truth_per_ablation() -> None:
    assert GROUND_TRUTH_ABLATIONS == ("resample", "zero")
    assert Ablation.parse("zero").ground_truth == "zero"
    assert Ablation.parse("resample").ground_truth == "resample"
    assert Ablation.parse("mean").ground_truth == "resample"  # a constant direction survives mean ablation too
    assert Ablation.parse("mean").ground_truth is Ablation.RESAMPLE
    assert {Ablation(a).ground_truth for a in Ablation} == set(GROUND_TRUTH_ABLATIONS)


def test_unknown_ablation_is_an_error() -> None:
    with pytest.raises(BenchmarkError, match=r"unknown ablation 'noise': use one of resample, zero, mean"):
        Ablation.parse("noise")


# --------------------------------------------------------------------------- destination_reads


def test_destination_reads_are_the_nonzero_rows() -> None:
    assert destination_reads(CONFIG, toy_weights(), LABELS) == EXPECTED_READS


def test_attention_only_model_has_no_mlp_destinations() -> None:
    config = TransformerConfig(n_layers=1, n_heads=2, d_model=2, d_head=1, d_mlp=0, d_vocab=2, d_vocab_out=2, n_ctx=2, causal=True)
    w = {name: np.zeros((2, 2, 1)) for name in ("blocks.0.attn.W_Q", "blocks.0.attn.W_K", "blocks.0.attn.W_V")}
    w["blocks.0.attn.W_V"][1, 0, 0] = 1.0  # head 1 reads row "p"
    w["unembed.W_U"] = np.array([[0.0, 0.0], [0.0, 1.0]])  # output reads row "q"
    reads = destination_reads(config, w, ["p", "q"])
    assert reads == {
        "a0.h0.q": set(), "a0.h0.k": set(), "a0.h0.v": set(),
        "a0.h1.q": set(), "a0.h1.k": set(), "a0.h1.v": {"p"},
        "output": {"q"},
    }


# --------------------------------------------------------------------- varying_residual_labels


def test_varying_labels() -> None:
    # tokens vary except BOS and PAD; one and positions never; a0.h0's aggregate_1 and m1's map_3
    # vary, m0's map_2 does not.
    varying = varying_residual_labels(LABELS, WRITERS, SOPS, VARYING_SOPS)
    assert varying == {"tokens:a", "aggregate_1", "map_3:y"}


def test_a_label_that_names_no_sop_of_its_writer_varies_with_any_of_them() -> None:
    # m0 computes two SOps, map_2 (constant) and map_5 (varying); its direction "hidden:0" names
    # neither, so it varies because one of m0's SOps does. "map_2:x" names map_2: it does not.
    # A label nobody writes is never varying.
    writers = {"hidden:0": ["m0"], "map_2:x": ["m0"]}
    sops = {"m0": ["map_2", "map_5"]}
    varying = varying_residual_labels(["hidden:0", "map_2:x", "orphan"], writers, sops, {"map_5"})
    assert varying == {"hidden:0"}
    assert varying_residual_labels(["hidden:0", "map_2:x"], writers, sops, set()) == set()


# ------------------------------------------------------------------------ ground_truth_circuit


def test_zero_ablation_ground_truth_holds_every_read_on_a_path_to_output() -> None:
    # Every read is an edge from its (earlier) writer. Dropped: a0.h0.q <- m1 (m1 is later), and
    # m0 -> a1.h0.v (a1.h0 feeds nothing, so it is off every embed -> output path).
    truth = ground_truth_circuit(EXPECTED_READS, WRITERS, None)
    expected = Circuit(
        [
            ("embed", "a0.h0.q"),
            ("embed", "a0.h0.k"),
            ("embed", "a0.h0.v"),
            ("embed", "m0"),
            ("a0.h0", "m1"),
            ("m0", "m1"),
            ("m1", "output"),
        ],
        granularity="qkv",
    )
    assert truth == expected
    assert len(truth.edges) == 7
    assert truth.nodes == ["embed", "a0.h0", "m0", "m1", "output"]


def test_resample_ground_truth_holds_only_reads_of_varying_directions() -> None:
    # Varying: tokens:a, aggregate_1, map_3:y. Left: a0.h0.v <- embed, m1 <- a0.h0, output <- m1.
    # (q/k read positions and BOS, m0 reads `one`, m1's read of map_2:x is constant.)
    varying = varying_residual_labels(LABELS, WRITERS, SOPS, VARYING_SOPS)
    truth = ground_truth_circuit(EXPECTED_READS, WRITERS, varying)
    assert truth == Circuit([("embed", "a0.h0.v"), ("a0.h0", "m1"), ("m1", "output")], granularity="qkv")
    assert truth.canonical() == Circuit([("embed", "a0.h0"), ("a0.h0", "m1"), ("m1", "output")])


def test_end_to_end_from_weights() -> None:
    reads = destination_reads(CONFIG, toy_weights(), LABELS)
    varying = varying_residual_labels(LABELS, WRITERS, SOPS, VARYING_SOPS)
    resample = ground_truth_circuit(reads, WRITERS, varying)
    zero = ground_truth_circuit(reads, WRITERS, None)
    assert set(resample.edges) == {("embed", "a0.h0.v"), ("a0.h0", "m1"), ("m1", "output")}
    assert set(resample.edges) < set(zero.edges)


def test_a_direction_with_two_writers_gives_an_edge_from_each_earlier_one() -> None:
    # "s" is written by embed and by a0.h0 (tracr: several components add to one direction);
    # m0 reads it (two edges), a0.h0.q reads it (only embed is earlier), output reads m0's "t".
    reads = {"a0.h0.q": {"s"}, "m0": {"s"}, "output": {"t"}}
    writers = {"s": ["embed", "a0.h0"], "t": ["m0"]}
    truth = ground_truth_circuit(reads, writers, None)
    assert set(truth.edges) == {("embed", "a0.h0.q"), ("embed", "m0"), ("a0.h0", "m0"), ("m0", "output")}


@pytest.mark.parametrize("varying", [None, {"u"}])
def test_no_path_to_output_gives_the_empty_circuit(varying) -> None:
    # a0.h0 reads the embedding, but the output reads nothing anyone writes: no embed -> output path.
    reads = {"a0.h0.v": {"u"}, "output": set()}
    truth = ground_truth_circuit(reads, {"u": ["embed"]}, varying)
    assert truth.edges == []
    assert truth == Circuit([], granularity="qkv")
