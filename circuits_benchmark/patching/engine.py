"""The one patching engine: a forward pass in which every edge of the graph can be ablated.

Each destination (a head's q, k or v input, an MLP's input, the final residual stream) receives
the sum over its upstream sources s of `mask_s * clean_s + (1 - mask_s) * ablated_s`, where
`clean_s` is the source's output in this very pass and `ablated_s` its output under the ablation
(a corrupted input's clean run, zeros, or the mean over a batch). Mask 1 keeps an edge, 0 ablates
it, values in between interpolate, so one pass evaluates any circuit and the gradient with respect
to the masks gives attribution scores. Attention-output biases belong to no head and are never
ablated. How each destination's input is computed, cheaply, is `patching.mixing`'s job.
"""

from __future__ import annotations

import dataclasses

import torch

from circuits_benchmark.choices import Ablation, Granularity
from circuits_benchmark.circuits import components
from circuits_benchmark.circuits.circuit import Circuit
from circuits_benchmark.circuits.components import OUTPUT, QKV
from circuits_benchmark.models.transformer import CircuitTransformer
from circuits_benchmark.patching.mixing import CleanSources, PatchedSources



@dataclasses.dataclass(frozen=True)
class EdgeLayout:
    """Where each edge's mask lives in the flat mask vector.

    Destinations come in forward order; each owns a contiguous slice of `n_upstream` masks, one
    per upstream source in forward order. A head owns three slices (q, k, v).
    """

    sources: tuple[str, ...]
    destinations: tuple[str, ...]
    offsets: tuple[int, ...]
    n_upstream: tuple[int, ...]

    @classmethod
    def for_model(cls, n_layers: int, n_heads: int, has_mlp: bool) -> "EdgeLayout":
        sources, destinations, offsets, upstream = [components.EMBED], [], [], []
        total = 0

        def add(destination: str, count: int) -> None:
            nonlocal total
            destinations.append(destination)
            offsets.append(total)
            upstream.append(count)
            total += count

        for layer in range(n_layers):
            for head in range(n_heads):
                for slot in QKV:
                    add(components.head_input_name(layer, head, slot), len(sources))
            heads = [components.head_name(layer, h) for h in range(n_heads)]
            if has_mlp:
                add(components.mlp_name(layer), len(sources) + n_heads)
                sources.extend(heads + [components.mlp_name(layer)])
            else:
                sources.extend(heads)
        add(OUTPUT, len(sources))
        return cls(tuple(sources), tuple(destinations), tuple(offsets), tuple(upstream))

    @property
    def n_edges(self) -> int:
        return self.offsets[-1] + self.n_upstream[-1]

    def edges(self) -> list[tuple[str, str]]:
        """Every (source, destination) pair, in mask-vector order (q/k/v granularity)."""
        return [(self.sources[s], d) for d, n in zip(self.destinations, self.n_upstream) for s in range(n)]

    def cut_sources_mask(self, cut: torch.Tensor) -> torch.Tensor:
        """Masks with 0 on every edge out of the cut sources and 1 on all others.

        `cut` is bool [..., n_sources] in `sources` order (a leading batch dimension gives one
        mask row per input); returns float [..., n_edges]. Cutting every edge out of a node makes
        all later nodes see its ablated value: with resample ablation, an interchange intervention.
        """
        source_of_edge = torch.tensor([s for n in self.n_upstream for s in range(n)])
        return 1.0 - cut[..., source_of_edge].float()

    def mask_for(self, circuit: Circuit, device: torch.device | str = "cpu") -> torch.Tensor:
        """Mask vector with 1 on the circuit's edges; a component-level edge into a head keeps q, k and v."""
        wanted = set(circuit.graph.edges)
        if circuit.granularity == Granularity.COMPONENT:
            keep = [(s, components.component_of(d)) in wanted for s, d in self.edges()]
        else:
            keep = [(s, d) in wanted for s, d in self.edges()]
        return torch.tensor(keep, dtype=torch.float32, device=device)


@dataclasses.dataclass
class PassCounter:
    """What a model's passes cost: input rows run forward, and rows whose outputs were
    differentiated (a backward pass). One forward-pass equivalent is one input row run forward; a
    backward pass counts as two (its usual cost relative to the forward pass)."""

    forward_rows: int = 0
    backward_rows: int = 0

    @property
    def forward_pass_equivalents(self) -> int:
        return self.forward_rows + 2 * self.backward_rows

    def add(self, forward_rows: int = 0, backward_rows: int = 0) -> None:
        """Charges passes made elsewhere (several problems' rows trained in one pass)."""
        self.forward_rows += forward_rows
        self.backward_rows += backward_rows

    def since(self, earlier: "PassCounter") -> "PassCounter":
        """The passes made after `earlier` (a copy taken then)."""
        return PassCounter(self.forward_rows - earlier.forward_rows, self.backward_rows - earlier.backward_rows)

    def to_dict(self) -> dict[str, int]:
        return {**dataclasses.asdict(self), "forward_pass_equivalents": self.forward_pass_equivalents}


class PatchableModel:
    """A CircuitTransformer wrapped once for edge-level interventions; every method uses it, and
    `passes` counts what they cost."""

    def __init__(self, model: CircuitTransformer) -> None:
        self.model = model
        self.passes = PassCounter()
        cfg = model.cfg
        self.layout = EdgeLayout.for_model(cfg.n_layers, cfg.n_heads, cfg.d_mlp > 0)
        layout = self.layout
        self.device = model.embed.W_E.device
        # Frozen models (compiled ones) skip dead MLP units; a model in training keeps them all,
        # since a unit that is dead now may not be after the next step.
        frozen = not any(p.requires_grad for p in model.parameters())
        self._mlp_units = [model.live_mlp_units(l) if frozen and cfg.d_mlp > 0 else None for l in range(cfg.n_layers)]
        # Mask-vector positions of each destination's upstream edges, as [dest, n_upstream] indices.
        self._mask_index = {
            name: torch.arange(offset, offset + n, device=self.device).unsqueeze(0)
            for name, offset, n in zip(layout.destinations, layout.offsets, layout.n_upstream)
        }
        # Each layer's head inputs, q of every head, then k, then v: one mix serves all of them.
        self._head_inputs = [
            torch.cat([self._mask_index[components.head_input_name(layer, h, slot)] for slot in QKV for h in range(cfg.n_heads)])
            for layer in range(cfg.n_layers)
        ]

    @property
    def n_edges(self) -> int:
        return self.layout.n_edges

    def source_outputs(self, tokens: torch.Tensor) -> torch.Tensor:
        """Every source's output in an unpatched run: [n_sources, batch, pos, d_model]."""
        with torch.no_grad():
            return self.run_with_sources(tokens)[1]

    def run_with_sources(self, tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Logits and every source's output of an unpatched run, differentiable (for training)."""
        sources = CleanSources()
        return self._run(tokens, sources), sources.stacked()

    def ablated_outputs(self, ablation: str, clean_tokens: torch.Tensor, corrupted_tokens: torch.Tensor | None = None) -> torch.Tensor:
        """The source outputs that replace ablated edges: [n_sources, batch or 1, pos, d_model].

        resample: outputs on `corrupted_tokens`; zero: zeros; mean: the per-position mean of the
        outputs on `clean_tokens`.
        """
        ablation = Ablation.parse(ablation)
        if ablation is Ablation.RESAMPLE:
            if corrupted_tokens is None:
                raise ValueError("resample ablation needs corrupted inputs")
            return self.source_outputs(corrupted_tokens)
        if ablation is Ablation.ZERO:
            n_pos = clean_tokens.shape[1]
            return torch.zeros(len(self.layout.sources), 1, n_pos, self.model.cfg.d_model, device=self.device)
        return self.source_outputs(clean_tokens).mean(dim=1, keepdim=True)  # mean

    def run(self, tokens: torch.Tensor, masks: torch.Tensor, ablated: torch.Tensor) -> torch.Tensor:
        """Logits of a pass where edge i carries `masks[i]` of its clean value and the rest ablated.

        `masks` may be [n_edges] (one circuit) or [groups, n_edges]: the rows in `groups` consecutive
        blocks of equal size, one circuit each (groups = batch: a circuit per input row; several
        circuits trained at once repeat their rows, one block per circuit).
        """
        return self._run(tokens, PatchedSources(masks, ablated))

    def _run(self, tokens: torch.Tensor, sources: CleanSources | PatchedSources) -> torch.Tensor:
        """Logits of a pass in which every destination reads its input from `sources`."""
        model, cfg = self.model, self.model.cfg
        n_pos = tokens.shape[1]
        sources.append((model.embed.W_E[tokens] + model.pos_embed.W_pos[:n_pos]).unsqueeze(2))
        constant = torch.zeros(cfg.d_model, device=self.device)  # attention-output biases: never ablated
        for layer, block in enumerate(model.blocks):
            head_inputs = sources.mix(self._head_inputs[layer], constant)  # [3 * heads, batch, pos, d_model]
            q_in, k_in, v_in = (x.permute(1, 2, 0, 3) for x in head_inputs.split(cfg.n_heads))
            sources.append(model.attention_heads(block.attn, q_in, k_in, v_in))
            constant = constant + model.attention_bias(block.attn)
            if cfg.d_mlp > 0:
                mlp_in = sources.mix(self._mask_index[components.mlp_name(layer)], constant)[0]
                sources.append(model.mlp(block.mlp, mlp_in, units=self._mlp_units[layer]).unsqueeze(2))
        final = sources.mix(self._mask_index[OUTPUT], constant)[0]
        logits = model.unembed_residual(final)
        self.count_forward(len(tokens))
        if logits.requires_grad:  # the hook runs when a backward pass reaches these outputs
            logits.register_hook(lambda gradient, rows=len(tokens): self._count_backward(rows))
        return logits

    def count_forward(self, rows: int) -> None:
        """Counts a forward pass over `rows` inputs (also for passes made outside the engine)."""
        self.passes.add(forward_rows=rows)

    def _count_backward(self, rows: int) -> None:
        self.passes.add(backward_rows=rows)
