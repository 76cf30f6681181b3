"""How natural does a model look? Weight, activation and ablation statistics of one case's four
models side by side: compiled (tracr), SIIT, IIT (SIIT without the strict loss) and natural (the
same architecture and data, behaviour loss only). InterpBench's claim is that SIIT models look
like naturally trained ones while keeping a known circuit; these numbers test it.

Per model:
- weights, per matrix (each head's W_Q/W_K/W_V/W_O, each MLP's W_in/W_out, W_E, W_pos, W_U):
  the singular-value spectrum, its effective rank (exp of the entropy of the normalised singular
  values, Roy & Vetterli) as a share of the largest possible rank, the excess kurtosis of its
  entries (0 for a Gaussian; tracr's sparse, exact weights are far above), and the Frobenius norm
  of each layer's matrices;
- activations: the residual stream's mean norm after each layer, and the share of MLP hidden
  units that are exactly zero (dead or inactive after the ReLU);
- node ablation effects: the share of output positions each head or MLP changes when ablated
  alone (resample, zero, mean), circuit nodes and the rest apart;
- ACDC's faithfulness curve (`evaluation.faithfulness`) at its default threshold.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import torch

from circuits_benchmark.choices import Ablation
from circuits_benchmark.evaluation.circuit_checks import node_ablation_effects
from circuits_benchmark.evaluation.figures import pyplot, save_png
from circuits_benchmark.models.benchmark_model import BenchmarkModel
from circuits_benchmark.models.transformer import CircuitTransformer
from circuits_benchmark.patching.output_change import PatchingBatch

# The four families compared, in the order they are drawn.
FAMILIES = ("compiled", "siit", "iit", "natural")
COLOURS = {"compiled": "tab:grey", "siit": "tab:blue", "iit": "tab:orange", "natural": "tab:green"}


@dataclasses.dataclass(frozen=True)
class ModelRealism:
    """One model's statistics (see the module docstring)."""

    family: str
    model_id: str
    spectra: dict[str, list[float]]  # matrix -> singular values, largest first
    effective_rank: dict[str, float]  # matrix -> effective rank / largest possible rank
    kurtosis: dict[str, float]
    layer_norms: list[float]  # per layer, Frobenius norm of all its matrices
    residual_norms: list[float]  # mean norm after the embedding and after each layer
    dead_mlp_share: float | None  # None without MLPs
    node_effects: dict[str, dict[str, float]]  # node -> ablation -> share of positions changed
    circuit_nodes: list[str]
    faithfulness: dict[str, Any]  # "sizes_percent", "faithfulness" (the curve) and its "cpr"

    def summary(self) -> dict[str, float | None]:
        """The numbers a table shows: medians over matrices, means over nodes."""
        outside = [effects[Ablation.RESAMPLE] for node, effects in self.node_effects.items() if node not in self.circuit_nodes]
        inside = [effects[Ablation.RESAMPLE] for node, effects in self.node_effects.items() if node in self.circuit_nodes]
        return {
            "effective_rank": float(np.median(list(self.effective_rank.values()))),
            "kurtosis": float(np.median(list(self.kurtosis.values()))),
            "dead_mlp_share": self.dead_mlp_share,
            "effect_in_circuit": float(np.mean(inside)) if inside else None,
            "effect_outside": float(np.mean(outside)) if outside else None,
            "acdc_cpr": self.faithfulness["cpr"],
        }

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self) | {"summary": self.summary()}


def weight_matrices(model: CircuitTransformer) -> dict[str, torch.Tensor]:
    """Every weight matrix by name, each head's projections apart (`a0.h1.W_Q`)."""
    matrices = {"W_E": model.embed.W_E, "W_pos": model.pos_embed.W_pos, "W_U": model.unembed.W_U}
    for layer, block in enumerate(model.blocks):
        for name in ("W_Q", "W_K", "W_V", "W_O"):
            for head, matrix in enumerate(getattr(block.attn, name)):
                matrices[f"a{layer}.h{head}.{name}"] = matrix
        if hasattr(block, "mlp"):
            matrices[f"m{layer}.W_in"], matrices[f"m{layer}.W_out"] = block.mlp.W_in, block.mlp.W_out
    return {name: matrix.detach().double() for name, matrix in matrices.items()}


def effective_rank(singular_values: torch.Tensor) -> float:
    """exp(entropy of the singular values normalised to sum 1); 0 for a zero matrix."""
    total = singular_values.sum()
    if total <= 0:
        return 0.0
    p = singular_values[singular_values > 0] / total
    return float(torch.exp(-(p * p.log()).sum()))


def excess_kurtosis(values: torch.Tensor) -> float:
    """E[(x - mean)^4] / var^2 - 3 over the entries; 0 for a constant matrix."""
    centred = values.flatten() - values.mean()
    variance = (centred**2).mean()
    return float((centred**4).mean() / variance**2 - 3) if variance > 0 else 0.0


def measure(family: str, model: BenchmarkModel, n_examples: int, seed: int, faithfulness: dict[str, Any]) -> ModelRealism:
    """All statistics of one model (see the module docstring); `faithfulness` is ACDC's curve on it
    ("sizes_percent", "faithfulness", "cpr"), which the caller runs."""
    network = model.model
    spectra, ranks, kurtoses = {}, {}, {}
    for name, matrix in weight_matrices(network).items():
        values = torch.linalg.svdvals(matrix)
        spectra[name] = values.tolist()
        ranks[name] = effective_rank(values) / min(matrix.shape)
        kurtoses[name] = excess_kurtosis(matrix)
    layer_norms = [
        float(sum((w.detach().double() ** 2).sum() for n, w in block.named_parameters() if n.rsplit(".", 1)[-1].startswith("W_"))) ** 0.5
        for block in network.blocks
    ]
    batch = PatchingBatch.sample(model, n_examples, seed)
    with torch.no_grad():
        _, cache = network.run_with_cache(batch.clean)
    residual = [cache["blocks.0.hook_resid_pre"]] + [cache[f"blocks.{l}.hook_resid_post"] for l in range(network.cfg.n_layers)]
    hidden = [cache[f"blocks.{l}.mlp.hook_post"] for l in range(network.cfg.n_layers) if f"blocks.{l}.mlp.hook_post" in cache]
    truth = model.ground_truth(Ablation.RESAMPLE)
    effects = node_ablation_effects(batch, truth)
    return ModelRealism(
        family=family,
        model_id=model.model_id,
        spectra=spectra,
        effective_rank=ranks,
        kurtosis=kurtoses,
        layer_norms=layer_norms,
        residual_norms=[float(r.norm(dim=-1).mean()) for r in residual],
        dead_mlp_share=float(torch.cat([h.flatten() for h in hidden]).eq(0).double().mean()) if hidden else None,
        node_effects={e.node: {kind: e.effects[kind].changed_fraction for kind in Ablation} for e in effects},
        circuit_nodes=sorted(truth.nodes),
        faithfulness=faithfulness,
    )


def draw_realism(measured: list[ModelRealism], title: str, path: Path) -> Path:
    """Six panels: singular-value spectra, effective rank and kurtosis per matrix, residual norm per
    layer, node ablation effects (circuit nodes filled, others hollow) and ACDC's faithfulness curve."""
    plt = pyplot()
    figure, axes = plt.subplots(2, 3, figsize=(15, 8))
    (spectra, ranks, kurtosis), (residual, effects, faithful) = axes
    for index, model in enumerate(measured):
        colour, label = COLOURS[model.family], f"{model.family} ({model.model_id})"
        for number, values in enumerate(model.spectra.values()):
            top = values[0] if values and values[0] > 0 else 1.0
            spectra.plot(range(1, len(values) + 1), [v / top for v in values], color=colour, alpha=0.35, linewidth=0.8,
                         label=label if number == 0 else None)
        jitter = index * 0.18 - 0.27
        ranks.scatter(np.full(len(model.effective_rank), index) + jitter, list(model.effective_rank.values()), color=colour, s=8)
        kurtosis.scatter(np.full(len(model.kurtosis), index) + jitter, list(model.kurtosis.values()), color=colour, s=8)
        residual.plot(range(len(model.residual_norms)), model.residual_norms, marker="o", color=colour, label=model.family)
        for column, kind in enumerate(Ablation):
            for node, shares in model.node_effects.items():
                inside = node in model.circuit_nodes
                effects.scatter(column * 5 + index + 0.5, shares[kind], s=18, color=colour if inside else "none", edgecolors=colour)
        faithful.plot(model.faithfulness["sizes_percent"], model.faithfulness["faithfulness"], marker="o", color=colour, label=model.family)
    spectra.set(yscale="log", ylim=(1e-4, 1.5), xlabel="singular value index", ylabel="singular value / largest",
                title="singular-value spectra (every matrix)")
    spectra.legend(fontsize=7)
    families = [m.family for m in measured]
    for axis, name in ((ranks, "effective rank / largest rank"), (kurtosis, "excess kurtosis of entries")):
        axis.set_xticks(range(len(families)), families)
        axis.set_title(f"{name}, per matrix")
    kurtosis.set_yscale("symlog")
    residual.set(xlabel="after layer (0: embedding)", ylabel="mean norm", title="residual stream norm")
    residual.legend(fontsize=7)
    effects.set_xticks([5 * c + 2 for c in range(len(Ablation))], [f"{kind} ablation" for kind in Ablation])
    effects.set(ylabel="output positions changed", title="ablating one node (filled: circuit node)")
    faithful.set(xscale="log", xlabel="edges kept (%)", ylabel="faithfulness", title="ACDC's faithfulness curve")
    faithful.legend(fontsize=7)
    figure.suptitle(title)
    return save_png(figure, path, dpi=100)
