"""Attention-head roles from patterns alone, scored against each head's known selector.

Researchers label heads by their attention patterns ("previous-token head", "attends to BOS").
Here each role is a rule on patterns with a score in [0, 1] (the attention mass it explains,
averaged over the queries where the role is defined); a head gets the best-scoring role when
that score reaches ROLE_THRESHOLD, else "other". The truth is the same rule applied to the
pattern the head's known selector prescribes on the same inputs (`known_computation`), so a
label is right when the head's observed pattern earns the role its selector's pattern earns. The
rules are tried in the order below, so on a tie the more specific role wins.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Callable

import torch

from circuits_benchmark.evaluation.figures import pyplot, save_png
from circuits_benchmark.analyses.known_computation import KnownComputation
from circuits_benchmark.models.transformer import CircuitTransformer

ROLE_THRESHOLD = 0.75
OTHER = "other"


def _key_positions(n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(query index, key index) grids [n, n]."""
    index = torch.arange(n)
    return index[:, None].expand(n, n), index[None, :].expand(n, n)


def _target_mass(targets: torch.Tensor, defined: torch.Tensor, patterns: torch.Tensor) -> float:
    """Mean over defined (input, query) of the attention on the target keys."""
    mass = (patterns * targets).sum(-1)
    return float(mass[defined].mean()) if defined.any() else 0.0


def _positional(offset: int) -> Callable[[torch.Tensor, torch.Tensor, int], float]:
    """Attends to the key `offset` positions from the query (-1: previous, 0: itself, 1: next), from
    the queries where that key is a task position."""

    def score(patterns: torch.Tensor, tokens: torch.Tensor, first: int) -> float:
        n = patterns.shape[-1]
        query, key = _key_positions(n)
        targets = (key == query + offset).float()
        defined = ((query[:, 0] + offset >= first) & (query[:, 0] + offset < n) & (query[:, 0] >= first)).expand(len(patterns), n)
        return _target_mass(targets, defined, patterns)

    return score


def _bos(patterns: torch.Tensor, tokens: torch.Tensor, first: int) -> float:
    """Attends to position 0 (BOS, where there is one): the no-op head."""
    return float(patterns[:, first:, 0].mean())


def _first_position(patterns: torch.Tensor, tokens: torch.Tensor, first: int) -> float:
    """Attends to the first task position, from the queries after it."""
    return float(patterns[:, first + 1 :, first].mean()) if patterns.shape[-1] > first + 1 else 0.0


def _same_token(patterns: torch.Tensor, tokens: torch.Tensor, first: int) -> float:
    """Attends to other positions holding the query's token (where there are any)."""
    same = (tokens[:, :, None] == tokens[:, None, :]) & ~torch.eye(tokens.shape[1], dtype=torch.bool)
    same[:, :, :first] = False
    defined = same.any(-1)
    defined[:, :first] = False
    return _target_mass(same.float(), defined, patterns)


def _first_occurrence(patterns: torch.Tensor, tokens: torch.Tensor, first: int) -> float:
    """Attends to the first position holding the query's token (where that is not the query itself)."""
    n = tokens.shape[1]
    same = tokens[:, :, None] == tokens[:, None, :]
    same[:, :, :first] = False
    first_key = torch.where(same.any(-1), same.float().argmax(-1), torch.full_like(tokens, -1))
    targets = torch.nn.functional.one_hot(first_key.clamp_min(0), n).float()
    defined = (first_key >= 0) & (first_key != torch.arange(n))
    defined[:, :first] = False
    return _target_mass(targets, defined, patterns)


def _uniform(causal_prefix: bool) -> Callable[[torch.Tensor, torch.Tensor, int], float]:
    """Spreads attention evenly over every task position (or over those up to the query): one
    minus the total-variation distance to that even spread."""

    def score(patterns: torch.Tensor, tokens: torch.Tensor, first: int) -> float:
        n = patterns.shape[-1]
        query, key = _key_positions(n)
        allowed = key >= first
        if causal_prefix:
            allowed = allowed & (key <= query)
        even = allowed.float() / allowed.float().sum(-1, keepdim=True).clamp_min(1)
        distance = 0.5 * (patterns - even).abs().sum(-1)[:, first:]
        return float(1 - distance.mean())

    return score


ROLES: dict[str, Callable[[torch.Tensor, torch.Tensor, int], float]] = {
    "bos / no-op": _bos,
    "previous token": _positional(-1),
    "two tokens back": _positional(-2),
    "current token": _positional(0),
    "next token": _positional(1),
    "first token": _first_position,
    "first occurrence": _first_occurrence,
    "same token": _same_token,
    "uniform up to itself": _uniform(True),
    "uniform": _uniform(False),
}


def role_scores(patterns: torch.Tensor, tokens: torch.Tensor, first: int) -> dict[str, float]:
    """Every role's score for one head's patterns [input, query, key] on `tokens` [input, position]."""
    return {role: rule(patterns, tokens, first) for role, rule in ROLES.items()}


def label(scores: dict[str, float]) -> tuple[str, float]:
    """The best role and its score, or ("other", best score) below ROLE_THRESHOLD."""
    role = max(scores, key=scores.get)  # scores come in ROLES order, and max keeps the first of equal values
    return (role if scores[role] >= ROLE_THRESHOLD else OTHER), scores[role]


@dataclasses.dataclass(frozen=True)
class HeadRole:
    """A head's label from its observed patterns and, when its selector is known, the true one."""

    head: str
    role: str
    score: float
    known_role: str | None
    selector: str | None
    pattern_distance: float | None  # mean total-variation distance to the prescribed pattern

    @property
    def right(self) -> bool | None:
        return None if self.known_role is None else self.role == self.known_role

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self) | {"right": self.right}


def head_patterns(model: CircuitTransformer, tokens: torch.Tensor) -> dict[str, torch.Tensor]:
    """head -> its attention patterns [input, query, key] on `tokens`."""
    with torch.no_grad():
        _, cache = model.run_with_cache(tokens)
    return {
        f"a{layer}.h{head}": cache[f"blocks.{layer}.attn.hook_pattern"][:, head]
        for layer in range(model.cfg.n_layers)
        for head in range(model.cfg.n_heads)
    }


def head_roles(model: CircuitTransformer, known: KnownComputation) -> tuple[list[HeadRole], dict[str, torch.Tensor]]:
    """Each head's role, with the truth where its selector is known; and the patterns it is read from."""
    patterns = head_patterns(model, known.tokens)
    roles = []
    for head, observed in patterns.items():
        role, score = label(role_scores(observed, known.tokens, known.first_position))
        prescribed = known.head_patterns.get(head)
        known_role = distance = None
        if prescribed is not None:
            known_role = label(role_scores(prescribed, known.tokens, known.first_position))[0]
            distance = float(0.5 * (observed - prescribed).abs().sum(-1)[:, known.first_position :].mean())
        roles.append(HeadRole(head, role, score, known_role, known.head_selectors.get(head), distance))
    return roles, patterns


def roles_summary(roles: list[HeadRole]) -> dict[str, float | int | None]:
    """How many heads have a known selector and the share of those labelled rightly."""
    scored = [r for r in roles if r.right is not None]
    return {"heads_with_truth": len(scored), "right": sum(r.right for r in scored) / len(scored) if scored else None}


def draw_attention(roles: list[HeadRole], patterns: dict[str, torch.Tensor], known: KnownComputation, title: str, path: Path) -> None:
    """One heatmap per head (rows: layers) of its pattern on the first input, titled with its label
    (and the known role: green when they agree, red when not)."""
    plt = pyplot()

    places = {role.head: tuple(int(part[1:]) for part in role.head.split(".")) for role in roles}  # a1.h2 -> (1, 2)
    n_layers, n_heads = (max(place[i] for place in places.values()) + 1 for i in (0, 1))
    figure, axes = plt.subplots(n_layers, n_heads, figsize=(2.3 * n_heads, 2.5 * n_layers), squeeze=False)
    for axis in axes.flat:
        axis.set_axis_off()
    ids = known.tokens[0].tolist()
    labels = [known.token_names[i] if known.token_names else str(i) for i in ids]
    for role in roles:
        layer, head = places[role.head]
        axis = axes[layer][head]
        axis.set_axis_on()
        axis.imshow(patterns[role.head][0].numpy(), vmin=0, vmax=1, cmap="Blues")
        axis.set_xticks(range(len(labels)), labels, fontsize=6)
        axis.set_yticks(range(len(labels)), labels, fontsize=6)
        colour = "black" if role.right is None else ("green" if role.right else "red")
        known_text = "" if role.known_role is None else f"\nknown: {role.known_role}"
        axis.set_title(f"{role.head}: {role.role} ({role.score:.2f}){known_text}", fontsize=7, color=colour)
    figure.suptitle(f"{title}: attention on one input (keys across, queries down)", fontsize=10)
    save_png(figure, path, dpi=100)
