"""Ground-truth checks of a hard model, each mechanism judged by its own definition.

A part is a ground-truth node (removing it cuts every edge out of it) or edge. Every check keeps
the ground truth, ablates everything else, and removes parts on top (`kept_mask`); answers are
the argmax at the answer positions, compared on held-out inputs with the next held-out input as
the corrupted one (resample ablation).

- Sufficiency (as for every trained model, `evaluation.circuit_checks`): with only the ground
  truth kept, at most `FAITHFULNESS_TOLERANCE` of the answers change.
- Redundancy tolerance: a vote of k copies tolerates t = (k - 1) / 2 removals: removing any t
  copies keeps the ground truth sufficient, removing any t + 1 changes answers on at least
  `NECESSITY_SHARE` of the inputs. The backup repairs the lookup MLP: removing the lookup MLP
  keeps the ground truth sufficient, removing it and the backup does not.
- Group-aware necessity: each part changes the answers, on at least `NECESSITY_SHARE` of the
  inputs, when it is removed from the ground truth with some context removed before it (the
  answers compared are those with the context removed). The contexts are the empty one and
  the mechanism's: every set of t copies of the vote; the lookup MLP, the backup, and the
  lookup MLP's edge into the output (with it gone the backup's reading of the lookup MLP is what
  decides whether it repairs). The context that showed a part necessary is recorded.
- Rare parts (the rare head and its edges): necessary on their own share, i.e. removing one
  changes the answer on at least `RARE_NECESSITY_SHARE` of the held-out inputs that hold the
  rare token; their effect over the benchmark's inputs (where the token is rare) is reported.
"""

from __future__ import annotations

import dataclasses
import itertools
from typing import Any, Union

import torch

from circuits_benchmark.choices import Ablation
from circuits_benchmark.circuits.circuit import Circuit
from circuits_benchmark.circuits.components import EMBED, OUTPUT, component_of
from circuits_benchmark.evaluation.circuit_checks import FAITHFULNESS_TOLERANCE, NECESSITY_SHARE
from circuits_benchmark.hard import high_level
from circuits_benchmark.hard.program import RARE_ID, HardSpec
from circuits_benchmark.models.transformer import CircuitTransformer
from circuits_benchmark.patching.output_change import PatchingBatch

# A rare part must change at least this share of the answers of the inputs it is for.
RARE_NECESSITY_SHARE = 0.5

Part = Union[str, tuple[str, str]]


def part_name(part: Part) -> str:
    return part if isinstance(part, str) else f"{part[0]}->{part[1]}"


def kept_mask(batch: PatchingBatch, truth: Circuit, removed: tuple[Part, ...]) -> torch.Tensor:
    """Edge masks keeping the ground truth less the `removed` nodes and edges."""
    layout = batch.layout
    mask = layout.mask_for(truth)
    nodes = {part for part in removed if isinstance(part, str)}
    if nodes:
        mask = mask * batch.cut_nodes_mask(nodes)
    edges = layout.edges()
    for part in removed:
        if not isinstance(part, str):
            mask[edges.index(part)] = 0.0
    return mask


def changed_inputs(batch: PatchingBatch, before: torch.Tensor, after: torch.Tensor) -> torch.Tensor:
    """bool [batch]: inputs whose answer (argmax at a counted position) differs between two outputs."""
    return ((before.argmax(-1) != after.argmax(-1)) & batch.weights).any(dim=1)


@dataclasses.dataclass
class HardChecks:
    """Every check of one model (see the module docstring); `passed` when all hold."""

    sufficient_change: float
    tolerance: dict[str, dict[str, float]]
    necessity: dict[str, dict[str, Any]]
    rare: dict[str, dict[str, float]]

    @property
    def sufficient(self) -> bool:
        return self.sufficient_change <= FAITHFULNESS_TOLERANCE

    @property
    def broken_claims(self) -> list[str]:
        """The tolerance claims that fail."""
        return [name for name, row in self.tolerance.items() if row["kept_change"] > FAITHFULNESS_TOLERANCE or row["broken_share"] < NECESSITY_SHARE]

    @property
    def tolerance_holds(self) -> bool:
        return not self.broken_claims

    @property
    def unnecessary(self) -> list[str]:
        """Parts necessary in no context (rare parts: not on their share)."""
        failed = [part for part, row in self.necessity.items() if row["context"] is None and part not in self.rare]
        return failed + [part for part, row in self.rare.items() if row["share_changed"] < RARE_NECESSITY_SHARE]

    @property
    def passed(self) -> bool:
        return self.sufficient and self.tolerance_holds and not self.unnecessary

    def to_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "sufficient": self.sufficient, "tolerance_holds": self.tolerance_holds,
                "unnecessary": self.unnecessary, "passed": self.passed}

    def as_ground_truth_check(self) -> dict[str, Any]:
        """The shape of a standard ground-truth check (`evaluation.circuit_checks`), as stored in
        meta.json and judged by the release: faithful (sufficient), minimal (every part necessary
        in a context and the tolerance claims hold), the share changed, the failures (unnecessary
        parts, then broken claims), and every figure under "hard"."""
        return {"faithful": self.sufficient, "minimal": not self.unnecessary and self.tolerance_holds, "changed_fraction": self.sufficient_change,
                "redundant": self.unnecessary + [f"claim: {name}" for name in self.broken_claims], "hard": self.to_dict()}


def contexts(spec: HardSpec) -> list[tuple[Part, ...]]:
    """The removals a part may be judged after: none, and the mechanism's (module docstring)."""
    found: list[tuple[Part, ...]] = [()]
    group = [high_level.ll_node(spec, node) for node in high_level.copy_group(spec)]
    found += list(itertools.combinations(group, (len(group) - 1) // 2)) if group else []
    if spec.backup:
        lookup, backup = high_level.ll_node(spec, "lookup"), high_level.ll_node(spec, "backup")
        found += [(lookup,), (backup,), ((lookup, OUTPUT),)]
    return [context for context in dict.fromkeys(found)]


def tolerance_claims(spec: HardSpec) -> dict[str, tuple[tuple[Part, ...], tuple[Part, ...]]]:
    """Name -> (removal that must keep the answers, removal that must change them)."""
    claims = {}
    group = [high_level.ll_node(spec, node) for node in high_level.copy_group(spec)]
    tolerated = (len(group) - 1) // 2
    for kept in itertools.combinations(group, tolerated) if group else ():
        extra = next(node for node in group if node not in kept)
        claims[f"vote without {', '.join(kept)}"] = (kept, (*kept, extra))
    if spec.backup:
        lookup, backup = high_level.ll_node(spec, "lookup"), high_level.ll_node(spec, "backup")
        claims[f"{backup} repairs {lookup}"] = ((lookup,), (lookup, backup))
    return claims


def parts(truth: Circuit) -> list[Part]:
    """Every node (but embed and output) and edge of a ground truth."""
    return [node for node in truth.nodes if node not in (EMBED, OUTPUT)] + list(truth.edges)


def rare_parts(spec: HardSpec, truth: Circuit) -> list[Part]:
    """The rare head and its edges."""
    if not spec.rare:
        return []
    head = high_level.ll_node(spec, "rare")
    return [part for part in parts(truth) if part == head or (not isinstance(part, str) and head in (part[0], component_of(part[1])))]


def check_hard_model(model: CircuitTransformer, spec: HardSpec, held_out: torch.Tensor, weights: torch.Tensor) -> HardChecks:
    """Every check on `held_out` inputs (token ids [n, pos], none trained on); `weights` bool
    [pos] marks the answer positions."""
    truth = high_level.ll_ground_truth(spec)
    batch = _batch(model, held_out, weights)

    outputs: dict[tuple[Part, ...], torch.Tensor] = {}

    def output(removed: tuple[Part, ...]) -> torch.Tensor:
        if removed not in outputs:  # each context's output serves every part judged after it
            with torch.no_grad():
                outputs[removed] = batch.patchable.run(batch.clean, kept_mask(batch, truth, removed), batch.ablated(Ablation.RESAMPLE))
        return outputs[removed]

    def share(before: torch.Tensor, after: torch.Tensor) -> float:
        return float(changed_inputs(batch, before, after).float().mean())

    clean = batch.reference
    tolerance = {
        name: {"kept_change": share(clean, output(kept)), "broken_share": share(clean, output(broken))}
        for name, (kept, broken) in tolerance_claims(spec).items()
    }
    necessity = {}
    for part in parts(truth):
        changes = {context: share(output(context), output((*context, part))) for context in contexts(spec) if part not in context}
        strongest = max(changes, key=changes.get)
        necessary = changes[strongest] >= NECESSITY_SHARE
        necessity[part_name(part)] = {
            "context": [part_name(p) for p in strongest] if necessary else None,
            "share_changed": changes[strongest],
            "alone": changes[()],
        }
    return HardChecks(share(clean, output(())), tolerance, necessity, _rare_checks(model, spec, truth, held_out, weights))


def _rare_checks(model: CircuitTransformer, spec: HardSpec, truth: Circuit, held_out: torch.Tensor, weights: torch.Tensor) -> dict[str, dict[str, float]]:
    """Per rare part: the share of rare-token inputs whose answer it changes, and of all inputs."""
    found = {}
    with_rare = (held_out == RARE_ID).any(dim=1)
    if not spec.rare or with_rare.sum() < 2:
        return found
    stratum = _batch(model, held_out[with_rare], weights, corrupted=held_out[~with_rare][: int(with_rare.sum())])
    everyone = _batch(model, held_out, weights)
    for part in rare_parts(spec, truth):
        row = {}
        for name, batch in (("share_changed", stratum), ("share_changed_all", everyone)):
            with torch.no_grad():
                kept = batch.patchable.run(batch.clean, kept_mask(batch, truth, ()), batch.ablated(Ablation.RESAMPLE))
                removed = batch.patchable.run(batch.clean, kept_mask(batch, truth, (part,)), batch.ablated(Ablation.RESAMPLE))
            row[name] = float(changed_inputs(batch, kept, removed).float().mean())
        found[part_name(part)] = row
    return found


def _batch(model: CircuitTransformer, clean: torch.Tensor, weights: torch.Tensor, corrupted: torch.Tensor | None = None) -> PatchingBatch:
    """Clean inputs with corrupted ones (default: the next clean input, as in held-out IIA)."""
    corrupted = clean.roll(-1, dims=0) if corrupted is None else corrupted
    return PatchingBatch(model, clean, corrupted, weights.expand(clean.shape).clone())
