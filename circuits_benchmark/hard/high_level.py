"""The high-level causal model of a hard task, its interventions, correspondence and ground truth.

Nodes (each holds one value per input) and what they compute from the tokens:

- `copy{i}` (i < copies): the token at `COPY_SOURCE`; the copy answer is their vote (the value
  most copies hold: with an odd number of copies, all patched from one source input, a majority
  always exists);
- `rare`: 1 when the rare token occurs, else 0; when 1 the copy answer is the class `rare`;
- `follows_marker`: the position right after the marker (a head of layer 0 flags it from the
  previous token); `locate`: the token there, which is the locate answer;
- `lookup`: the lookup table applied to the token at `LOOKUP_AT`;
- `backup`: silent (-1) when `lookup` holds the table's value of the token at `LOOKUP_AT`, else
  that value; the lookup answer is `backup` when it speaks, else `lookup`. On a clean input the
  backup is silent; when `lookup` is patched it speaks and repairs the answer;
- `side{j}` (j < distractor): the class of the token at the position side output j reports
  (`program.SIDE_OUTPUTS`), which is that output; `side_mlp`: the side table applied to the token at
  `SIDE_MLP_AT`, which is the MLP side output. No answer of the task reads them.

An intervention sets a set of nodes to their values on a source input and recomputes the rest
(`backup` reads `lookup`). The model is trained on every node alone, on every set of two or more
copies, and on `lookup` and `backup` together (`interventions`).

LL correspondence (`ll_node`): copies, rare and follows_marker are heads of layer 0 in that
order, locate is head 0 of layer 1, lookup is MLP 0 and backup MLP 1; the side nodes are heads
outside the task's circuit, the last heads of layer 1 first (`side_heads`), and `side_mlp` is
MLP 1. The ground truth (`ll_ground_truth`, the task's: no side node) enters each head through
the inputs it needs under resample ablation: a copy's value (the token), the rare head's key
(where the rare token is; what it writes depends on the position only), the follows_marker
head's value (whether the previous token is the marker; it attends by position), the locate
head's key (from follows_marker) and value (the token); each MLP reads the embeddings, the backup
also the lookup MLP.
"""

from __future__ import annotations

import itertools
import math

import torch
import torch.nn.functional as F

from circuits_benchmark.choices import Granularity
from circuits_benchmark.circuits.circuit import Circuit
from circuits_benchmark.circuits.components import EMBED, OUTPUT, head_name
from circuits_benchmark.hard.program import (
    COPY_AT, COPY_SOURCE, LENGTH, LOCATE_AT, LOOKUP_AT, MARKER_ID, OUTPUT_CLASSES, RARE_CLASS, RARE_ID, SIDE_MLP_AT,
    HardSpec, side_class,
)
from circuits_benchmark.training.high_level import Intervention

SILENT = -1
# The fewest heads per layer an LL model has.
MIN_HEADS = 2


def node_names(spec: HardSpec) -> tuple[str, ...]:
    """The HL nodes of a task, in forward order."""
    nodes = [f"copy{i}" for i in range(spec.copies)]
    nodes += ["rare"] * spec.rare + ["follows_marker"] * spec.locate + ["locate"] * spec.locate
    nodes += ["lookup"] + ["backup"] * spec.backup
    nodes += [f"side{j}" for j in range(spec.distractor)] + ["side_mlp"] * spec.side_mlp
    return tuple(nodes)


def task_nodes(spec: HardSpec) -> tuple[str, ...]:
    """The nodes that compute the task's answers (every node but the side ones)."""
    return tuple(node for node in node_names(spec) if not node.startswith("side"))


def _layer0_heads(spec: HardSpec) -> list[str]:
    """The task's nodes that are heads of layer 0, in order."""
    return [n for n in node_names(spec) if n.startswith("copy") or n in ("rare", "follows_marker")]


def n_heads(spec: HardSpec) -> int:
    """Heads per layer of the LL model: the fewest that hold the circuit's heads and the side
    heads, so that a head outside the circuit carries a side output wherever the task has one
    (a free head is inert: the strict loss keeps it so, and a family of inert heads would let
    "scores above zero" win again, as on the SIIT models)."""
    layer0 = len(_layer0_heads(spec))
    return max(MIN_HEADS, layer0, math.ceil((layer0 + int(spec.locate) + spec.distractor) / 2))


def side_heads(spec: HardSpec) -> list[str]:
    """The heads outside the task's circuit, in the order side nodes take them: layer 1's from
    the last, then layer 0's from the last."""
    heads = n_heads(spec)
    layer1 = [head_name(1, h) for h in range(heads - 1, int(spec.locate) - 1, -1)]
    layer0 = [head_name(0, h) for h in range(heads - 1, len(_layer0_heads(spec)) - 1, -1)]
    return layer1 + layer0


def copy_group(spec: HardSpec) -> tuple[str, ...]:
    """The redundant copies (empty without redundancy)."""
    return tuple(f"copy{i}" for i in range(spec.copies)) if spec.copies > 1 else ()


def redundant_edges(spec: HardSpec) -> list[tuple[str, str]]:
    """The ground truth's edges whose part has a stand-in, so that removing one alone barely moves
    the output: each copy's input (with redundancy), and with a backup the repaired lookup MLP's
    input and the backup's output (silent on clean inputs)."""
    edges = [(EMBED, f"{ll_node(spec, node)}.v") for node in copy_group(spec)]
    if spec.backup:
        edges += [(EMBED, ll_node(spec, "lookup")), (ll_node(spec, "backup"), OUTPUT)]
    return edges


def interventions(spec: HardSpec) -> tuple[Intervention, ...]:
    """Every node alone, every set of two or more copies, and lookup with its backup."""
    group = copy_group(spec)
    sets = [(node,) for node in node_names(spec)]
    sets += [subset for size in range(2, len(group) + 1) for subset in itertools.combinations(group, size)]
    if spec.backup:
        sets.append(("lookup", "backup"))
    return tuple(sets)


def ll_node(spec: HardSpec, node: str) -> str:
    """The LL node realising an HL node."""
    heads = _layer0_heads(spec)
    if node in heads:
        return head_name(0, heads.index(node))
    if node.startswith("side") and node != "side_mlp":
        return side_heads(spec)[int(node.removeprefix("side"))]
    return {"locate": head_name(1, 0), "lookup": "m0", "backup": "m1", "side_mlp": "m1"}[node]


def correspondence(spec: HardSpec) -> dict[str, tuple[str, ...]]:
    """HL node -> its LL nodes (one each)."""
    return {node: (ll_node(spec, node),) for node in node_names(spec)}


def ll_ground_truth(spec: HardSpec) -> Circuit:
    """The LL ground truth of the task at q/k/v granularity (see the module docstring)."""
    edges = []
    for node in task_nodes(spec):
        ll = ll_node(spec, node)
        if node.startswith("copy") or node == "follows_marker":
            edges.append((EMBED, f"{ll}.v"))
        elif node == "rare":
            edges.append((EMBED, f"{ll}.k"))
        elif node == "locate":
            edges += [(ll_node(spec, "follows_marker"), f"{ll}.k"), (EMBED, f"{ll}.v")]
        else:
            edges.append((EMBED, ll))
        if node != "follows_marker":
            edges.append((ll, OUTPUT))
    if spec.backup:
        edges.append((ll_node(spec, "lookup"), ll_node(spec, "backup")))
    return Circuit(edges, granularity=Granularity.QKV)


class HardCausalModel:
    """The HL model of one hard task over token ids; node values are long tensors [nodes, batch]."""

    def __init__(self, spec: HardSpec) -> None:
        self.spec = spec
        self.node_names = node_names(spec)
        self.interventions = interventions(spec)
        # The ground-truth checks judge the vote and the backup with only the circuit kept.
        self.strict_interventions = True
        self.table = spec.lookup_table()
        self.side_table = spec.side_table()
        # bool [interventions, nodes]: which nodes each intervention sets.
        self._sets = torch.tensor([[node in chosen for node in self.node_names] for chosen in self.interventions])

    def run(self, tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Output logits [batch, pos, classes] (one-hot at the answer positions) and node values."""
        return self._forward(tokens, None, None)

    def interchange(self, tokens: torch.Tensor, node_index: torch.Tensor, source_values: torch.Tensor) -> torch.Tensor:
        """Logits where, in row r, the nodes of intervention `node_index[r]` take `source_values[:, r]`."""
        return self._forward(tokens, self._sets.to(tokens.device)[node_index], source_values)[0]

    def interchange_sets(self, tokens: torch.Tensor, sets: torch.Tensor, source_values: torch.Tensor) -> torch.Tensor:
        """Logits where, in row r, the nodes `sets[r]` (bool [rows, nodes]) take `source_values[:, r]`:
        any set, such as the side nodes the strict loss ablates (`training.objectives`)."""
        return self._forward(tokens, sets, source_values)[0]

    def _forward(
        self, tokens: torch.Tensor, sets: torch.Tensor | None, source_values: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        values: dict[str, torch.Tensor] = {}

        def settle(node: str, value: torch.Tensor) -> torch.Tensor:
            index = self.node_names.index(node)
            if sets is not None:
                value = torch.where(sets[:, index], source_values[index], value)
            values[node] = value
            return value

        copies = torch.stack([settle(f"copy{i}", tokens[:, COPY_SOURCE]) for i in range(self.spec.copies)])
        copy_answer = vote(copies) - 1  # content token id -> content class
        if self.spec.rare:
            rare = settle("rare", (tokens == RARE_ID).any(dim=1).long())
            copy_answer = torch.where(rare == 1, RARE_CLASS, copy_answer)
        answers = {COPY_AT: copy_answer}
        if self.spec.locate:
            follower = settle("follows_marker", (tokens == MARKER_ID).long().argmax(dim=1) + 1)
            # A patched follows_marker may point at the marker or the rare token: reported as `rare`.
            located = settle("locate", side_class(tokens.gather(1, follower.clamp(max=LENGTH).unsqueeze(1)).squeeze(1)))
            answers[LOCATE_AT] = located
        table = self.table.to(tokens.device)
        truth = table[(tokens[:, LOOKUP_AT] - 1).clamp(min=0)]
        lookup = settle("lookup", truth)
        answers[LOOKUP_AT] = lookup
        if self.spec.backup:
            backup = settle("backup", torch.where(lookup == truth, SILENT, truth))
            answers[LOOKUP_AT] = torch.where(backup == SILENT, lookup, backup)
        for j, (position, source) in enumerate(self.spec.side_outputs):
            answers[position] = settle(f"side{j}", side_class(tokens[:, source]))
        if self.spec.side_mlp:
            answers[SIDE_MLP_AT] = settle("side_mlp", self.side_table.to(tokens.device)[tokens[:, SIDE_MLP_AT] - 1])
        logits = torch.zeros(*tokens.shape, len(OUTPUT_CLASSES), device=tokens.device)
        for position, answer in answers.items():
            logits[:, position] = F.one_hot(answer, len(OUTPUT_CLASSES)).float()
        return logits, torch.stack([values[node] for node in self.node_names])


def vote(values: torch.Tensor) -> torch.Tensor:
    """The value most rows of `values` [voters, batch] hold (ties: the smallest value)."""
    counts = F.one_hot(values, int(values.max()) + 1).sum(dim=0)
    return counts.argmax(dim=-1)
