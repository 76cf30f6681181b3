"""RASP -> tracr craft model -> CircuitTransformer weights, with the component map tracr knows.

tracr's own `compile_rasp_to_model` spends almost all its time initialising a Haiku model whose
parameters it then overwrites. The weights are fully determined by the craft model, so this
module runs tracr's compiler stages up to the craft graph, allocates blocks to layers with
tracr's own allocator, and writes the weights straight into TransformerLens layout with numpy.
It also records, for every residual direction, which component writes it, which is what the
ground-truth circuit is derived from.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np

from circuits_benchmark.cases.case import BOS, PAD, Case
from circuits_benchmark.circuits.components import EMBED, head_name, layer_of, mlp_name
from circuits_benchmark.models.transformer import CircuitTransformer, TransformerConfig

# tracr's default MLP discretisation; larger is more exact but risks large weights.
MLP_EXACTNESS = 100
# Logit of the explicit "undefined" class (the last output class, value None) of categorical
# cases. tracr writes nothing (every logit below 4e-6, measured over all cases) where the
# program's value is None, and a top logit of at least 0.11 where it is defined (tracr's
# discretised MLPs are not one-hot: 0.11-1.0). A constant between the two, 250x above the one and
# 100x below the other, makes "undefined" the argmax exactly where the program says None, so every
# comparison of outputs treats undefined as a value of its own instead of as class 0.
UNDEFINED_LOGIT = 1e-3


@dataclasses.dataclass
class CompiledProgram:
    """A compiled case: weights plus the bookkeeping needed to read and explain them.

    Attributes:
        config: shape of the CircuitTransformer.
        weights: TransformerLens-named numpy arrays.
        input_tokens: vocabulary in token-id order (BOS and PAD included).
        output_classes: output value of each logit (categorical; the last is None, "undefined"),
            or None (numerical).
        residual_labels: name of each residual dimension, e.g. "tokens:a" or "frac_x".
        writers_of_label: residual label -> components that write it ("embed", "a0.h1", "m2"), in
            forward order (tracr's SelectorWidth MLP also writes to its head's output direction).
        sop_of_component: component -> labels of the RASP SOps it computes.
    """

    config: TransformerConfig
    weights: dict[str, np.ndarray]
    input_tokens: list[Any]
    output_classes: list[Any] | None
    residual_labels: list[str]
    writers_of_label: dict[str, list[str]]
    sop_of_component: dict[str, list[str]]


def compile_case(case: Case) -> CompiledProgram:
    """Compiles a case's RASP program; raises ValueError if tracr cannot compile it."""
    from tracr.compiler import basis_inference, craft_graph_to_model, expr_to_craft_graph, nodes, rasp_to_graph
    from tracr.craft import bases, transformers
    from tracr.rasp import rasp

    program = case.program  # the same objects the evaluator labels, so SOp labels match
    extracted = rasp_to_graph.extract_rasp_graph(program)
    graph, sources, sink = extracted.graph, extracted.sources, extracted.sink
    basis_inference.infer_bases(graph, sink, set(case.vocab), case.n_tokens)
    expr_to_craft_graph.add_craft_components_to_rasp_graph(
        graph, bos_dir=bases.BasisDirection(rasp.tokens.label, BOS), mlp_exactness=MLP_EXACTNESS
    )
    # tracr's allocator decides the layer of every block; we keep its decision verbatim.
    allocation = craft_graph_to_model._allocate_modules_to_layers(graph, sources)

    heads_by_layer: dict[int, list[tuple[Any, str]]] = {}
    mlps_by_layer: dict[int, list[tuple[Any, str]]] = {}
    for node_id, half_layer in allocation.items():
        node = graph.nodes[node_id]
        block = node.get(nodes.MODEL_BLOCK)
        label = node[nodes.EXPR].label
        if isinstance(block, transformers.SeriesWithResiduals):  # SelectorWidth: attention then MLP
            attn, mlp = block.blocks
            heads_by_layer.setdefault(half_layer // 2, []).append((attn, label))
            mlps_by_layer.setdefault(half_layer // 2, []).append((mlp, label))
        elif isinstance(block, transformers.MLP):
            mlps_by_layer.setdefault(half_layer // 2, []).append((block, label))
        elif block is not None:
            for head in block.as_multi().heads():
                heads_by_layer.setdefault(half_layer // 2, []).append((head, label))

    tokens_value_set = graph.nodes[rasp.tokens.label][nodes.VALUE_SET] | {BOS, PAD}
    tokens_space = bases.VectorSpaceWithBasis.from_values(rasp.tokens.label, tokens_value_set)
    indices_space = bases.VectorSpaceWithBasis.from_values(rasp.indices.label, range(case.n_tokens))
    output_space = bases.VectorSpaceWithBasis(sink[nodes.OUTPUT_BASIS])
    categorical = rasp.is_categorical(sink[nodes.EXPR])

    blocks = [b for group in (*heads_by_layer.values(), *mlps_by_layer.values()) for b, _ in group]
    residual_space = bases.join_vector_spaces(
        *(b.residual_space for b in blocks), tokens_space, indices_space, output_space
    )
    assembler = _WeightAssembler(residual_space, bases)
    n_layers = max([*heads_by_layer, *mlps_by_layer]) + 1
    n_heads = max((len(h) for h in heads_by_layer.values()), default=1)
    d_head = max(
        (max(*h.w_qk.matrix.shape, h.w_ov.matrix.shape[1]) for g in heads_by_layer.values() for h, _ in g),
        default=1,
    )
    # tracr scales attention logits by 1/sqrt(its key size); d_head may be wider to fit values.
    tracr_key_size = max((max(h.w_qk.matrix.shape) for g in heads_by_layer.values() for h, _ in g), default=1)
    query_scale = math.sqrt(d_head / tracr_key_size)
    combined_mlps = {layer: transformers.MLP.combine_in_parallel([m for m, _ in group]) for layer, group in mlps_by_layer.items()}
    d_mlp = max((m.fst.output_space.num_dims for m in combined_mlps.values()), default=1)

    config = TransformerConfig(
        n_layers=n_layers,
        n_heads=n_heads,
        d_model=residual_space.num_dims,
        d_head=d_head,
        d_mlp=d_mlp,
        d_vocab=tokens_space.num_dims,
        d_vocab_out=output_space.num_dims + 1 if categorical else 1,
        n_ctx=case.max_seq_len,
        causal=case.causal,
        output_kind="categorical" if categorical else "numerical",
        use_bias=True,  # all zero but the unembedding's undefined logit
    )
    weights = assembler.empty_weights(config)
    weights["embed.W_E"] = assembler.token_embedding(tokens_space)
    weights["pos_embed.W_pos"][1:] = assembler.project(indices_space).T  # BOS (position 0) gets none
    weights["unembed.W_U"][:, : output_space.num_dims] = assembler.project(output_space)
    if categorical:
        weights["unembed.b_U"][-1] = UNDEFINED_LOGIT

    writers_of_label: dict[str, list[str]] = {}

    def record_writes(component: str, *matrices: np.ndarray) -> None:
        for label in assembler.labels_written_by(*matrices):
            writers_of_label.setdefault(label, []).append(component)

    record_writes(EMBED, weights["embed.W_E"], weights["pos_embed.W_pos"])
    sop_of_component: dict[str, list[str]] = {}
    for layer, group in heads_by_layer.items():
        for index, (head, sop_label) in enumerate(group):
            q, k, v, o = assembler.head_weights(head, d_head)
            for name, value in (("W_Q", q * query_scale), ("W_K", k), ("W_V", v), ("W_O", o)):
                weights[f"blocks.{layer}.attn.{name}"][index] = value
            component = head_name(layer, index)
            sop_of_component[component] = [sop_label]
            record_writes(component, o)
    for layer, mlp in combined_mlps.items():
        w_in, w_out = assembler.mlp_weights(mlp)
        weights[f"blocks.{layer}.mlp.W_in"][:, : w_in.shape[1]] = w_in
        weights[f"blocks.{layer}.mlp.W_out"][: w_out.shape[0]] = w_out
        component = mlp_name(layer)
        sop_of_component[component] = [label for _, label in mlps_by_layer[layer]]
        record_writes(component, w_out)

    return CompiledProgram(
        config=config,
        weights=weights,
        input_tokens=[d.value for d in tokens_space.basis],
        output_classes=[d.value for d in output_space.basis] + [None] if categorical else None,
        residual_labels=assembler.labels,
        writers_of_label={label: sorted(w, key=layer_of) for label, w in writers_of_label.items()},
        sop_of_component=sop_of_component,
    )


class _WeightAssembler:
    """Turns craft blocks into residual-stream matrices (rows/columns indexed by residual labels)."""

    def __init__(self, residual_space: Any, bases_module: Any) -> None:
        self.residual_space = residual_space
        self.bases = bases_module
        self.labels = [_label(d) for d in residual_space.basis]
        self._index = {d: i for i, d in enumerate(residual_space.basis)}

    def project(self, space: Any) -> np.ndarray:
        """[d_model, dims of space]: the embedding of `space` into the residual stream."""
        matrix = np.zeros((len(self.labels), space.num_dims))
        for column, direction in enumerate(space.basis):
            matrix[self._index[direction], column] = 1.0
        return matrix

    def token_embedding(self, tokens_space: Any) -> np.ndarray:
        """One-hot token embedding plus tracr's constant 'one' direction on every token."""
        embedding = self.project(tokens_space).T
        one = self.bases.BasisDirection("one")
        if one in self._index:
            embedding[:, self._index[one]] = 1.0
        return embedding

    def head_weights(self, head: Any, d_head: int) -> tuple[np.ndarray, ...]:
        """W_Q, W_K, W_V [d_model, d_head] and W_O [d_head, d_model] of one craft head."""
        q = self.project(head.w_qk.left_space) @ head.w_qk.matrix
        k = self.project(head.w_qk.right_space)
        v = self.project(head.w_ov.input_space) @ head.w_ov.matrix
        o = self.project(head.w_ov.output_space).T
        return _pad_columns(q, d_head), _pad_columns(k, d_head), _pad_columns(v, d_head), _pad_rows(o, d_head)

    def mlp_weights(self, mlp: Any) -> tuple[np.ndarray, np.ndarray]:
        """W_in [d_model, hidden] and W_out [hidden, d_model] of a (combined) craft MLP."""
        w_in = self.project(mlp.fst.input_space) @ mlp.fst.matrix
        w_out = mlp.snd.matrix @ self.project(mlp.snd.output_space).T
        return w_in, w_out

    def labels_written_by(self, *matrices: np.ndarray) -> list[str]:
        """Residual labels that any of these [*, d_model] matrices writes to (non-zero columns)."""
        written = np.zeros(len(self.labels), dtype=bool)
        for matrix in matrices:
            written |= np.abs(matrix).sum(axis=0) > 0
        return [label for label, hit in zip(self.labels, written) if hit]

    def empty_weights(self, cfg: TransformerConfig) -> dict[str, np.ndarray]:
        """Every parameter of a CircuitTransformer of shape `cfg`, zero (biases included)."""
        return {name: np.zeros(tuple(p.shape)) for name, p in CircuitTransformer(cfg).named_parameters()}


def _label(direction: Any) -> str:
    """tracr's residual label: 'name' for numerical dims, 'name:value' for categorical ones."""
    return direction.name if direction.value is None else f"{direction.name}:{direction.value}"


def _pad_columns(matrix: np.ndarray, width: int) -> np.ndarray:
    return np.pad(matrix, ((0, 0), (0, width - matrix.shape[1])))


def _pad_rows(matrix: np.ndarray, height: int) -> np.ndarray:
    return np.pad(matrix, ((0, height - matrix.shape[0]), (0, 0)))
