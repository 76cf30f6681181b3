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
from typing import TYPE_CHECKING, Any

import numpy as np

from circuits_benchmark.choices import OutputKind
from circuits_benchmark.cases.case import BOS, PAD, Case, CaseError
from circuits_benchmark.circuits.components import EMBED, head_name, layer_of, mlp_name
from circuits_benchmark.models.transformer import CircuitTransformer, TransformerConfig

if TYPE_CHECKING:  # tracr is imported where it is used: importing this module stays cheap
    import networkx as nx
    from tracr.compiler.nodes import Node
    from tracr.compiler.rasp_to_graph import ExtractRaspGraphOutput
    from tracr.craft.bases import VectorSpaceWithBasis
    from tracr.craft.transformers import MLP, AttentionHead
    from tracr.rasp.rasp import SOp

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
    """Compiles a case's RASP program; raises CaseError (a BenchmarkError) naming the case and
    tracr's reason if tracr cannot compile it.

    The stages are tracr's own (see `tracr.compiler.compiling.compile_rasp_to_model`) up to the
    craft model; where tracr would assemble a Haiku model, the craft blocks are written straight
    into CircuitTransformer weights.
    """
    from tracr.craft import bases

    program = case.program  # the same objects the evaluator labels, so SOp labels match
    extracted = _program_to_graph(program)
    try:
        _infer_bases(extracted, case)
        _add_craft_blocks(extracted.graph)
        allocation = _allocate_half_layers(extracted.graph, extracted.sources)
    # tracr refuses what it cannot compile with whatever its code runs into: a TypeError for an
    # aggregate over `selector_and`, an AttributeError ('SelectorAnd' object has no attribute
    # 'queries') for a selector width over it, and others; any of them means the program.
    except Exception as error:  # noqa: BLE001
        raise CaseError(f"case {case.case_id}: tracr cannot compile its RASP program: {_uncompilable_reason(extracted, error)}") from error
    layers = _craft_layers(extracted.graph, allocation)
    stream = _residual_stream(extracted, case, layers)
    config = _model_config(case, layers, stream)
    assembler = _WeightAssembler(stream.residual, bases)
    weights = _assemble_weights(config, layers, stream, assembler)
    return CompiledProgram(
        config=config,
        weights=weights,
        input_tokens=[d.value for d in stream.tokens.basis],
        output_classes=[d.value for d in stream.output.basis] + [None] if stream.categorical else None,
        residual_labels=assembler.labels,
        writers_of_label=_writers_of_label(layers, weights, assembler),
        sop_of_component=_sop_of_component(layers),
    )


@dataclasses.dataclass
class _CraftLayers:
    """The craft model: tracr's craft blocks by transformer layer, each with its SOp's label.

    Attributes:
        heads: layer -> (attention head, label of the SOp it computes), in allocation order.
        mlps: layer -> (MLP, label of the SOp it computes), in allocation order.
        combined_mlps: layer -> that layer's MLPs combined in parallel, as tracr's craft model does.
    """

    heads: dict[int, list[tuple[AttentionHead, str]]]
    mlps: dict[int, list[tuple[MLP, str]]]
    combined_mlps: dict[int, MLP]


@dataclasses.dataclass
class _ResidualStream:
    """The residual stream of a compiled model and the spaces embedded into and read from it.

    Attributes:
        tokens: one direction per input token (BOS and PAD included), in token-id order.
        indices: one direction per index of the program's input (index i is position i + 1, after BOS).
        output: the program's output space (one direction per value if categorical, else one).
        residual: every block's residual space joined with the three above.
        categorical: whether the program's output is categorical.
    """

    tokens: VectorSpaceWithBasis
    indices: VectorSpaceWithBasis
    output: VectorSpaceWithBasis
    residual: VectorSpaceWithBasis
    categorical: bool


def _uncompilable_reason(extracted: ExtractRaspGraphOutput, error: Exception) -> str:
    """tracr's error in one line, naming first the composite selectors tracr never compiles."""
    from tracr.compiler import nodes
    from tracr.rasp import rasp

    composite = (rasp.SelectorAnd, rasp.SelectorOr, rasp.SelectorNot)
    used = sorted({type(node[nodes.EXPR]).__name__ for node in extracted.graph.nodes.values() if isinstance(node[nodes.EXPR], composite)})
    reason = f"{type(error).__name__}: {' '.join(str(error).split())}"
    if used:
        return f"it combines selectors ({', '.join(used)}), which tracr does not compile ({reason})"
    return reason


def _program_to_graph(program: SOp) -> ExtractRaspGraphOutput:
    """Program -> graph: one node per SOp of `program`, with its sources (tokens, indices) and sink."""
    from tracr.compiler import rasp_to_graph

    return rasp_to_graph.extract_rasp_graph(program)


def _infer_bases(extracted: ExtractRaspGraphOutput, case: Case) -> None:
    """Basis inference: annotates every node, in place, with its value set and output basis."""
    from tracr.compiler import basis_inference

    basis_inference.infer_bases(extracted.graph, extracted.sink, set(case.vocab), case.n_tokens)


def _add_craft_blocks(graph: nx.DiGraph) -> None:
    """Craft graph: attaches to every node, in place, the craft block that computes its SOp."""
    from tracr.compiler import expr_to_craft_graph
    from tracr.craft import bases
    from tracr.rasp import rasp

    expr_to_craft_graph.add_craft_components_to_rasp_graph(
        graph, bos_dir=bases.BasisDirection(rasp.tokens.label, BOS), mlp_exactness=MLP_EXACTNESS
    )


def _allocate_half_layers(graph: nx.DiGraph, sources: list[Node]) -> dict[int, int]:
    """Node id -> half-layer (0 attention, 1 MLP, 2 attention, ...) of every node with a block.

    A SelectorWidth node gets its attention half-layer; its MLP goes in the half-layer after it.
    """
    from tracr.compiler import craft_graph_to_model

    # tracr's allocator is private: its public `craft_graph_to_model` runs it but returns only the
    # craft model, which drops the node (so the SOp) of each block and skips empty layers, both of
    # which the component map needs. Calling it keeps our layers exactly tracr's. Tested with
    # tracr-pypi 1.0.0, hence the <1.1 pin in pyproject.toml.
    return craft_graph_to_model._allocate_modules_to_layers(graph, sources)


def _craft_layers(graph: nx.DiGraph, allocation: dict[int, int]) -> _CraftLayers:
    """Craft model: the graph's blocks grouped by layer, as `allocation` places them."""
    from tracr.compiler import nodes
    from tracr.craft import transformers

    heads: dict[int, list[tuple[AttentionHead, str]]] = {}
    mlps: dict[int, list[tuple[MLP, str]]] = {}
    for node_id, half_layer in allocation.items():
        node = graph.nodes[node_id]
        block = node.get(nodes.MODEL_BLOCK)
        label = node[nodes.EXPR].label
        if isinstance(block, transformers.SeriesWithResiduals):  # SelectorWidth: attention then MLP
            attn, mlp = block.blocks
            heads.setdefault(half_layer // 2, []).append((attn, label))
            mlps.setdefault(half_layer // 2, []).append((mlp, label))
        elif isinstance(block, transformers.MLP):
            mlps.setdefault(half_layer // 2, []).append((block, label))
        elif block is not None:
            for head in block.as_multi().heads():
                heads.setdefault(half_layer // 2, []).append((head, label))
    combined_mlps = {
        layer: transformers.MLP.combine_in_parallel([m for m, _ in group]) for layer, group in mlps.items()
    }
    return _CraftLayers(heads=heads, mlps=mlps, combined_mlps=combined_mlps)


def _residual_stream(extracted: ExtractRaspGraphOutput, case: Case, layers: _CraftLayers) -> _ResidualStream:
    """The residual stream of the craft model plus its token, position and output spaces."""
    from tracr.compiler import nodes
    from tracr.craft import bases
    from tracr.rasp import rasp

    graph, sink = extracted.graph, extracted.sink
    tokens_value_set = graph.nodes[rasp.tokens.label][nodes.VALUE_SET] | {BOS, PAD}
    tokens = bases.VectorSpaceWithBasis.from_values(rasp.tokens.label, tokens_value_set)
    indices = bases.VectorSpaceWithBasis.from_values(rasp.indices.label, range(case.n_tokens))
    output = bases.VectorSpaceWithBasis(sink[nodes.OUTPUT_BASIS])
    blocks = [b for group in (*layers.heads.values(), *layers.mlps.values()) for b, _ in group]
    residual = bases.join_vector_spaces(*(b.residual_space for b in blocks), tokens, indices, output)
    categorical = rasp.is_categorical(sink[nodes.EXPR])
    return _ResidualStream(tokens=tokens, indices=indices, output=output, residual=residual, categorical=categorical)


def _model_config(case: Case, layers: _CraftLayers, stream: _ResidualStream) -> TransformerConfig:
    """The smallest CircuitTransformer shape that holds every block of `layers`."""
    d_head = max(
        (max(*h.w_qk.matrix.shape, h.w_ov.matrix.shape[1]) for g in layers.heads.values() for h, _ in g),
        default=1,
    )
    return TransformerConfig(
        n_layers=max([*layers.heads, *layers.mlps]) + 1,
        n_heads=max((len(h) for h in layers.heads.values()), default=1),
        d_model=stream.residual.num_dims,
        d_head=d_head,
        d_mlp=max((m.fst.output_space.num_dims for m in layers.combined_mlps.values()), default=1),
        d_vocab=stream.tokens.num_dims,
        d_vocab_out=stream.output.num_dims + 1 if stream.categorical else 1,
        n_ctx=case.max_seq_len,
        causal=case.causal,
        output_kind=OutputKind.CATEGORICAL if stream.categorical else OutputKind.NUMERICAL,
        use_bias=True,  # all zero but the unembedding's undefined logit
    )


def _assemble_weights(
    config: TransformerConfig, layers: _CraftLayers, stream: _ResidualStream, assembler: _WeightAssembler
) -> dict[str, np.ndarray]:
    """Our weights: every parameter of a `config`-shaped CircuitTransformer, written from the craft model."""
    weights = assembler.empty_weights(config)
    weights["embed.W_E"] = assembler.token_embedding(stream.tokens)
    weights["pos_embed.W_pos"][1:] = assembler.project(stream.indices).T  # BOS (position 0) gets none
    weights["unembed.W_U"][:, : stream.output.num_dims] = assembler.project(stream.output)
    if stream.categorical:
        weights["unembed.b_U"][-1] = UNDEFINED_LOGIT
    # tracr scales attention logits by 1/sqrt(its key size); d_head may be wider to fit values.
    tracr_key_size = max((max(h.w_qk.matrix.shape) for g in layers.heads.values() for h, _ in g), default=1)
    query_scale = math.sqrt(config.d_head / tracr_key_size)
    for layer, group in layers.heads.items():
        for index, (head, _) in enumerate(group):
            q, k, v, o = assembler.head_weights(head, config.d_head)
            for name, value in (("W_Q", q * query_scale), ("W_K", k), ("W_V", v), ("W_O", o)):
                weights[f"blocks.{layer}.attn.{name}"][index] = value
    for layer, mlp in layers.combined_mlps.items():
        w_in, w_out = assembler.mlp_weights(mlp)
        weights[f"blocks.{layer}.mlp.W_in"][:, : w_in.shape[1]] = w_in
        weights[f"blocks.{layer}.mlp.W_out"][: w_out.shape[0]] = w_out
    return weights


def _writers_of_label(
    layers: _CraftLayers, weights: dict[str, np.ndarray], assembler: _WeightAssembler
) -> dict[str, list[str]]:
    """Residual label -> components whose output weights write it, in forward order."""
    # Read off the assembled weights: a component writes a direction where a column of its output
    # matrix is non-zero (the zero padding up to d_head and d_mlp writes nothing).
    outputs: list[tuple[str, tuple[np.ndarray, ...]]] = [(EMBED, (weights["embed.W_E"], weights["pos_embed.W_pos"]))]
    for layer, group in layers.heads.items():
        for index in range(len(group)):
            outputs.append((head_name(layer, index), (weights[f"blocks.{layer}.attn.W_O"][index],)))
    for layer in layers.combined_mlps:
        outputs.append((mlp_name(layer), (weights[f"blocks.{layer}.mlp.W_out"],)))
    writers_of_label: dict[str, list[str]] = {}
    for component, matrices in outputs:
        for label in assembler.labels_written_by(*matrices):
            writers_of_label.setdefault(label, []).append(component)
    return {label: sorted(w, key=layer_of) for label, w in writers_of_label.items()}


def _sop_of_component(layers: _CraftLayers) -> dict[str, list[str]]:
    """Component -> labels of the SOps it computes (one per head; every SOp of a layer's MLP)."""
    sop_of_component: dict[str, list[str]] = {}
    for layer, group in layers.heads.items():
        for index, (_, label) in enumerate(group):
            sop_of_component[head_name(layer, index)] = [label]
    for layer in layers.combined_mlps:
        sop_of_component[mlp_name(layer)] = [label for _, label in layers.mlps[layer]]
    return sop_of_component


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
