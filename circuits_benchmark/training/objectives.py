"""SIIT's three objectives and the metrics that go with them, on the one patching engine.

For a batch of base inputs, each paired with a source input (another input of the batch):

- behaviour: the LL output on the base input must match the HL (tracr) output;
- IIT: one HL intervention per row (a node, or a set of nodes the HL model names in its
  `interventions`, see `training.high_level`) is patched with its values on the source input, and
  the LL nodes of those HL nodes with theirs; the LL output must match the HL counterfactual output;
- strict: LL components outside the circuit are resample-ablated with their values on the source
  input, and the output must not change (it must match the HL output on the base input). The
  ablated units are every LL node outside the LL ground truth and every edge between circuit nodes
  that the ground truth does not hold, so that the edge-level ground truth is faithful too. Half
  the rows ablate all units at once (what the faithfulness check does), the other half a random
  half of them (so that no two ablations merely cancel). For an HL model that asks for it
  (`strict_interventions`), every other strict row also makes that row's IIT intervention, and
  its output must match the HL counterfactual: the circuit alone must then behave like the HL
  model under interventions (a vote of redundant copies must outvote a patched copy with
  everything outside it ablated, not only with everything intact). Such a model may also have
  HL nodes outside the circuit (the hard family's side outputs, which no answer reads): the
  strict loss resamples their LL nodes like everything else outside, which is an interchange
  intervention on them, so the HL model is intervened on them in the same rows
  (`interchange_sets`) and the target is its output then. Requiring the clean output instead
  would ask the circuit to recompute what the ablated nodes computed.

Matching means cross-entropy against the HL's argmax class for categorical outputs and squared
error against the HL's value for numerical ones, at the task's targeted positions: every non-BOS
position of a tracr case, the last one of an IOI sentence (a tracr model's argmax is the
program's value: `cases verify` checks it on every case). "Undefined" is a class of the compiled
model's own (see `compiler.tracr_compiler`), so where the program's value is None the LL model must
predict undefined: nodes whose only job is to make an output undefined are trained and scored like
every other node.
The metrics count matching positions: argmax equal, or |LL - HL| <= tolerance. Both sides of every
intervention are masks of `patching.engine`: an interchange intervention on a node is the mask
that cuts every edge out of it, with the source input's outputs as the ablated values; on the HL
side it is the HL model's own (`training.high_level`).
"""

from __future__ import annotations

import dataclasses

import torch
import torch.nn.functional as F

from circuits_benchmark.choices import OutputKind
from circuits_benchmark.circuits import components
from circuits_benchmark.circuits.circuit import Circuit
from circuits_benchmark.models.transformer import CircuitTransformer
from circuits_benchmark.patching.engine import PatchableModel
from circuits_benchmark.patching.output_change import NUMERICAL_MATCH_TOLERANCE
from circuits_benchmark.training.correspondence import Correspondence
from circuits_benchmark.training.settings import SIIT_TERMS
from circuits_benchmark.training.high_level import HighLevelModel, intervenes_under_strict, interventions_of

def output_loss(ll_logits: torch.Tensor, hl_logits: torch.Tensor, targeted: torch.Tensor, categorical: bool) -> torch.Tensor:
    """Mean cross-entropy (categorical) or squared error (numerical) of LL against HL at the
    `targeted` positions (bool [pos])."""
    targeted = targeted[: ll_logits.shape[1]]
    if not targeted.any():
        return ll_logits.sum() * 0.0  # keeps the graph, contributes nothing
    ll, hl = ll_logits[:, targeted], hl_logits[:, targeted]
    if categorical:
        return F.cross_entropy(ll.flatten(0, 1), hl.argmax(dim=-1).flatten())
    return F.mse_loss(ll[..., 0], hl[..., 0])


def output_matches(
    ll_logits: torch.Tensor, hl_logits: torch.Tensor, targeted: torch.Tensor, categorical: bool, tolerance: float
) -> tuple[int, int]:
    """(matching, targeted) position counts: argmax equal, or within `tolerance` for numerical outputs."""
    targeted = targeted[: ll_logits.shape[1]]
    ll, hl = ll_logits[:, targeted], hl_logits[:, targeted]
    if categorical:
        match = ll.argmax(dim=-1) == hl.argmax(dim=-1)
    else:
        match = (ll[..., 0] - hl[..., 0]).abs() <= tolerance
    return int(match.sum()), match.numel()


@dataclasses.dataclass
class InterventionOutputs:
    """Logits [rows, pos, d_vocab_out] of one batch of interventions (None where not computed)."""

    hl_base: torch.Tensor
    ll_base: torch.Tensor
    hl_iit: torch.Tensor | None
    ll_iit: torch.Tensor | None
    ll_strict: torch.Tensor | None
    hl_strict: torch.Tensor | None = None  # the strict rows' targets, where not all are hl_base


@dataclasses.dataclass
class HighLevelTargets:
    """The HL outputs of one batch of interventions: clean, IIT and strict (None where not
    computed, or, for `strict`, where every strict row's target is the clean output)."""

    base: torch.Tensor
    iit: torch.Tensor | None
    strict: torch.Tensor | None


class SiitObjective:
    """The HL and LL models wrapped once, with the LL intervention masks the correspondence implies.

    `ll_circuit` is the LL ground truth the strict loss keeps (the resample one, q/k/v granularity);
    `targeted` (bool [pos]) the positions whose outputs are trained and scored.
    """

    def __init__(
        self,
        hl: HighLevelModel,
        ll_model: CircuitTransformer,
        correspondence: Correspondence,
        ll_circuit: Circuit,
        targeted: torch.Tensor,
        tolerance: float = NUMERICAL_MATCH_TOLERANCE,
    ) -> None:
        self.hl = hl
        self.ll = PatchableModel(ll_model)
        self.correspondence = correspondence
        self.categorical = ll_model.cfg.output_kind == OutputKind.CATEGORICAL
        self.tolerance = tolerance
        device = next(ll_model.parameters()).device
        self.targeted = targeted.to(device)
        sources = self.ll.layout.sources
        self.interventions = interventions_of(hl)
        ll_nodes = [{ll for node in nodes for ll in correspondence.ll_nodes_of(node)} for nodes in self.interventions]
        ll_cuts = [torch.tensor([s in cut for s in sources]) for cut in ll_nodes]
        # Row i: the LL masks of HL intervention i (every LL node of its HL nodes cut at once).
        self.ll_node_masks = self.ll.layout.cut_sources_mask(torch.stack(ll_cuts)).to(device)
        self.strict_units = strict_units(self.ll, ll_circuit).to(device)
        self.strict_interventions = intervenes_under_strict(hl)
        # bool [interventions, HL nodes]: the HL nodes each intervention sets.
        self.intervention_sets = torch.tensor([[node in nodes for node in hl.node_names] for nodes in self.interventions], device=device)
        self.outside_nodes, self.outside_cuts = self._nodes_outside(ll_circuit, device) if self.strict_interventions else ([], None)

    def _nodes_outside(self, ll_circuit: Circuit, device: torch.device) -> tuple[list[int], torch.Tensor | None]:
        """The indices of the HL nodes whose LL nodes all lie outside the circuit (the strict loss
        ablates them), and bool [those nodes, n_edges]: the edges cut when one is ablated."""
        inside = set(ll_circuit.nodes)
        outside = [
            index for index, node in enumerate(self.hl.node_names)
            if node in self.correspondence.mapping and not inside & set(self.correspondence.ll_nodes_of(node))
        ]
        if not outside:
            return [], None
        if not hasattr(self.hl, "interchange_sets"):
            raise ValueError("an HL model with strict interventions and nodes outside the circuit must provide interchange_sets")
        sources = self.ll.layout.sources
        cuts = torch.stack([
            torch.tensor([s in self.correspondence.ll_nodes_of(self.hl.node_names[index]) for s in sources]) for index in outside
        ])
        return outside, (self.ll.layout.cut_sources_mask(cuts) == 0).to(device)

    def _strict_target(self, tokens: torch.Tensor, intervened: torch.Tensor, node_index: torch.Tensor | None,
                       strict_masks: torch.Tensor, source_values: torch.Tensor) -> torch.Tensor:
        """The HL output of strict rows: in each row, the HL nodes outside the circuit that its mask
        ablates (every edge out of their LL nodes cut) and, in `intervened` rows, the row's
        intervention take their source values."""
        sets = torch.zeros(len(tokens), len(self.hl.node_names), dtype=torch.bool, device=tokens.device)
        if node_index is not None:
            sets = self.intervention_sets[node_index] & intervened
        cut = strict_masks == 0
        ablated = (cut.unsqueeze(1) | ~self.outside_cuts.unsqueeze(0)).all(dim=-1)  # [rows, outside nodes]
        sets[:, self.outside_nodes] |= ablated
        with torch.no_grad():
            return self.hl.interchange_sets(tokens, sets, source_values)

    @property
    def n_interventions(self) -> int:
        """How many HL interventions there are (the HL nodes, one by one, unless it names sets)."""
        return self.ll_node_masks.shape[0]

    def strict_masks(self, rows: int, generator: torch.Generator) -> torch.Tensor:
        """LL masks [rows, n_edges] for the strict loss: every unit ablated in half the rows, a random half in the others."""
        device = self.strict_units.device
        n_units = self.strict_units.shape[0]
        chosen = torch.rand(rows, n_units, generator=generator) < 0.5
        everything = torch.rand(rows, 1, generator=generator) < 0.5
        chosen = (chosen | everything).to(device)
        cut = (chosen.float() @ self.strict_units) > 0
        return 1.0 - cut.float()

    def run(
        self,
        tokens: torch.Tensor,
        source_index: torch.Tensor,
        node_index: torch.Tensor | None,
        strict_masks: torch.Tensor | None,
        hl_targets: HighLevelTargets | None = None,
        ll_clean: tuple[torch.Tensor, torch.Tensor] | None = None,
        one_intervention: bool = False,
    ) -> InterventionOutputs:
        """Clean, IIT and strict outputs of both models for base rows `tokens`.

        Row r's source input is `tokens[source_index[r]]`; `node_index[r]` is the HL intervention
        made in row r (an index into `interventions`; None skips IIT); `strict_masks` None skips the strict pass. LL outputs carry
        gradients, HL outputs do not. `hl_targets` are the HL outputs of these very arguments
        (`high_level_targets`), and `ll_clean` the LL model's `run_with_sources(tokens)`, when
        already computed (the HL outputs depend on nothing the LL model learns). `one_intervention`
        says that every row makes intervention `node_index[0]`: its LL rows then run as the
        engine's one-circuit pass, one mask for all rows (on case 113, half the cost of a mask per
        row), and the strict rows in a pass of their own.
        """
        if hl_targets is None:
            hl_targets = self.high_level_targets(tokens, source_index, node_index, strict_masks)
        strict_masks = self._strict_rows_masks(strict_masks, node_index)
        ll_base, ll_sources = self.ll.run_with_sources(tokens) if ll_clean is None else ll_clean
        ablated = ll_sources[:, source_index]
        if one_intervention and node_index is not None:
            ll_iit = self.ll.run(tokens, self.ll_node_masks[node_index[0]], ablated)
            ll_strict = None if strict_masks is None else self.ll.run(tokens, strict_masks, ablated)
            return InterventionOutputs(hl_targets.base, ll_base, hl_targets.iit, ll_iit, ll_strict, hl_targets.strict)
        ll_masks = [masks for masks in (None if node_index is None else self.ll_node_masks[node_index], strict_masks) if masks is not None]
        if not ll_masks:
            return InterventionOutputs(hl_targets.base, ll_base, None, None, None)
        # IIT and strict rows share their inputs and ablated values: one patched pass serves both.
        patched = self.ll.run(
            tokens.repeat(len(ll_masks), 1), torch.cat(ll_masks), ablated.repeat(1, len(ll_masks), 1, 1)
        ).split(len(tokens))
        ll_iit = patched[0] if node_index is not None else None
        ll_strict = patched[-1] if strict_masks is not None else None
        return InterventionOutputs(hl_targets.base, ll_base, hl_targets.iit, ll_iit, ll_strict, hl_targets.strict)

    def high_level_targets(
        self, tokens: torch.Tensor, source_index: torch.Tensor, node_index: torch.Tensor | None, strict_masks: torch.Tensor | None
    ) -> HighLevelTargets:
        """The HL outputs `run` compares the LL outputs with, for the same arguments."""
        strict_masks = self._strict_rows_masks(strict_masks, node_index)
        with torch.no_grad():
            hl_base, hl_values = self.hl.run(tokens)
            hl_iit = hl_strict = None
            if node_index is not None:
                hl_iit = self.hl.interchange(tokens, node_index, hl_values[:, source_index])
            if strict_masks is not None:
                intervened = self._intervened_rows(len(tokens))
                if node_index is not None and self.strict_interventions:
                    hl_strict = torch.where(intervened.unsqueeze(-1), hl_iit, hl_base)
                if self.outside_nodes:
                    hl_strict = self._strict_target(tokens, intervened, node_index, strict_masks, hl_values[:, source_index])
        return HighLevelTargets(hl_base, hl_iit, hl_strict)

    def _strict_rows_masks(self, strict_masks: torch.Tensor | None, node_index: torch.Tensor | None) -> torch.Tensor | None:
        """The strict rows' LL masks: for an HL model intervened on under the strict ablations,
        every other row also cuts the LL nodes of its IIT intervention."""
        if strict_masks is None or node_index is None or not self.strict_interventions:
            return strict_masks
        return torch.where(self._intervened_rows(len(strict_masks)), strict_masks * self.ll_node_masks[node_index], strict_masks)

    def _intervened_rows(self, rows: int) -> torch.Tensor:
        """bool [rows, 1]: the strict rows that also make their IIT intervention (every other one)."""
        return (torch.arange(rows, device=self.targeted.device) % 2 == 0).view(-1, 1)

    @staticmethod
    def strict_target(outputs: InterventionOutputs) -> torch.Tensor:
        """What the strict rows must output: the HL output, counterfactual where intervened."""
        return outputs.hl_base if outputs.hl_strict is None else outputs.hl_strict

    def losses(self, outputs: InterventionOutputs) -> dict[str, torch.Tensor]:
        """behaviour, iit and strict losses of a batch (only those that were computed)."""
        def loss(ll: torch.Tensor, hl: torch.Tensor) -> torch.Tensor:
            return output_loss(ll, hl, self.targeted, self.categorical)

        return {term.loss: loss(ll, hl) for term, (ll, hl) in zip(SIIT_TERMS, self._pairs(outputs)) if ll is not None}

    def match_counts(self, outputs: InterventionOutputs) -> dict[str, tuple[int, int]]:
        """(matching, targeted) position counts for accuracy, IIA and strict IIA (those computed)."""
        def count(ll: torch.Tensor, hl: torch.Tensor) -> tuple[int, int]:
            return output_matches(ll, hl, self.targeted, self.categorical, self.tolerance)

        return {term.metric: count(ll, hl) for term, (ll, hl) in zip(SIIT_TERMS, self._pairs(outputs)) if ll is not None}

    def _pairs(self, outputs: InterventionOutputs) -> list[tuple[torch.Tensor | None, torch.Tensor | None]]:
        """(LL output, what it must match) of each SIIT term, in `SIIT_TERMS` order (LL None where not computed)."""
        return [(outputs.ll_base, outputs.hl_base), (outputs.ll_iit, outputs.hl_iit), (outputs.ll_strict, self.strict_target(outputs))]


def strict_units(ll: PatchableModel, ll_circuit: Circuit) -> torch.Tensor:
    """bool [n_units, n_edges]: which edges each unit the strict loss may ablate covers.

    A unit is an LL node outside the circuit (all edges out of it) or a single edge between
    circuit nodes that the circuit does not hold (edges into nodes outside need no unit: those
    nodes' outputs are ablated already).
    """
    layout = ll.layout
    inside = set(ll_circuit.nodes)
    outside = [source for source in layout.sources if source not in inside]
    units = [
        layout.cut_sources_mask(torch.tensor([s == node for s in layout.sources])) == 0 for node in outside
    ]
    kept = layout.mask_for(ll_circuit) > 0
    for index, (source, destination) in enumerate(layout.edges()):
        if source in inside and components.component_of(destination) in inside and not kept[index]:
            unit = torch.zeros(layout.n_edges, dtype=torch.bool)
            unit[index] = True
            units.append(unit)
    if not units:
        return torch.zeros(0, layout.n_edges)
    return torch.stack(units).float()


def heldout_metrics(objective: SiitObjective, tokens: torch.Tensor, seed: int) -> dict[str, float]:
    """Accuracy, IIA and strict IIA on held-out inputs, as fractions of targeted positions (one
    evaluation by `HeldoutEvaluation`, which says what is measured)."""
    return HeldoutEvaluation(objective, tokens, seed).metrics()


class HeldoutEvaluation:
    """Accuracy, IIA and strict IIA on held-out inputs, as fractions of targeted positions, measured
    as often as a run asks.

    Every HL intervention is made in every input, with the next input of `tokens` as the source; each
    of those passes also draws strict ablations (from a generator seeded with `seed`, so that
    repeated evaluations of one run see the same interventions). Since the interventions repeat
    and the HL model does not learn, its outputs are computed at the first evaluation and kept
    (on case 113 the HL passes were a third of an evaluation's time); the LL model's clean pass,
    the same for every intervention, is made once per evaluation, and each intervention's LL rows
    run as one circuit (`SiitObjective.run`'s `one_intervention`).
    """

    def __init__(self, objective: SiitObjective, tokens: torch.Tensor, seed: int) -> None:
        self.objective, self.tokens, self.seed = objective, tokens, seed
        self.source_index = torch.arange(len(tokens), device=tokens.device).roll(-1)
        self._hl_targets: list[HighLevelTargets] = []

    def metrics(self) -> dict[str, float]:
        """The held-out metrics of the LL model as it is now."""
        objective, tokens = self.objective, self.tokens
        generator = torch.Generator().manual_seed(self.seed)
        totals: dict[str, list[int]] = {}
        with torch.no_grad():
            ll_clean = objective.ll.run_with_sources(tokens)
            for node in range(objective.n_interventions):
                node_index = torch.full((len(tokens),), node, device=tokens.device)
                strict = objective.strict_masks(len(tokens), generator)
                if len(self._hl_targets) == node:
                    self._hl_targets.append(objective.high_level_targets(tokens, self.source_index, node_index, strict))
                outputs = objective.run(tokens, self.source_index, node_index, strict, self._hl_targets[node], ll_clean, one_intervention=True)
                for name, (matching, targeted) in objective.match_counts(outputs).items():
                    if name == "accuracy" and node > 0:
                        continue  # the clean pass is the same for every node
                    total = totals.setdefault(name, [0, 0])
                    total[0] += matching
                    total[1] += targeted
        return {name: matching / targeted if targeted else 1.0 for name, (matching, targeted) in totals.items()}
