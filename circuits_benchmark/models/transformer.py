"""The library's transformer: TransformerLens's weight layout and hook names, without its import cost.

Every model of the project (tracr-compiled, SIIT-trained, AlgZoo attention-only) is a
`CircuitTransformer`. Parameter names match HookedTransformer's state dict (`embed.W_E`,
`blocks.0.attn.W_Q`, ...), so conversion to and from TransformerLens is a plain state-dict copy
(see `models.hooked`). There is no LayerNorm: tracr models have none and neither do AlgZoo's.
"""

from __future__ import annotations

import dataclasses
import json
import math
from typing import Any, Sequence

import torch
from torch import nn

from circuits_benchmark.choices import OutputKind


@dataclasses.dataclass(frozen=True)
class TransformerConfig:
    """Shape and behaviour of a CircuitTransformer.

    `d_mlp == 0` makes an attention-only model. `output_kind` is "categorical" (one logit per
    output class) or "numerical" (one real value, `d_vocab_out == 1`).
    """

    n_layers: int
    n_heads: int
    d_model: int
    d_head: int
    d_mlp: int
    d_vocab: int
    d_vocab_out: int
    n_ctx: int
    causal: bool
    output_kind: OutputKind = OutputKind.CATEGORICAL
    use_bias: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "output_kind", OutputKind.parse(self.output_kind))  # read back from JSON as text

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict of the config."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "TransformerConfig":
        """Inverse of `to_dict`; raises TypeError on unknown or missing keys."""
        return cls(**data)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)


class Attention(nn.Module):
    """Multi-head attention with per-head weights in TransformerLens layout."""

    def __init__(self, cfg: TransformerConfig) -> None:
        super().__init__()
        h, d, k = cfg.n_heads, cfg.d_model, cfg.d_head
        self.W_Q = nn.Parameter(torch.zeros(h, d, k))
        self.W_K = nn.Parameter(torch.zeros(h, d, k))
        self.W_V = nn.Parameter(torch.zeros(h, d, k))
        self.W_O = nn.Parameter(torch.zeros(h, k, d))
        if cfg.use_bias:
            self.b_Q = nn.Parameter(torch.zeros(h, k))
            self.b_K = nn.Parameter(torch.zeros(h, k))
            self.b_V = nn.Parameter(torch.zeros(h, k))
            self.b_O = nn.Parameter(torch.zeros(d))
        self.scale = math.sqrt(k)
        self.causal = cfg.causal


class MLP(nn.Module):
    """One ReLU MLP in TransformerLens layout."""

    def __init__(self, cfg: TransformerConfig) -> None:
        super().__init__()
        self.W_in = nn.Parameter(torch.zeros(cfg.d_model, cfg.d_mlp))
        self.W_out = nn.Parameter(torch.zeros(cfg.d_mlp, cfg.d_model))
        if cfg.use_bias:
            self.b_in = nn.Parameter(torch.zeros(cfg.d_mlp))
            self.b_out = nn.Parameter(torch.zeros(cfg.d_model))


class Block(nn.Module):
    def __init__(self, cfg: TransformerConfig) -> None:
        super().__init__()
        self.attn = Attention(cfg)
        if cfg.d_mlp > 0:
            self.mlp = MLP(cfg)


class Embed(nn.Module):
    def __init__(self, cfg: TransformerConfig) -> None:
        super().__init__()
        self.W_E = nn.Parameter(torch.zeros(cfg.d_vocab, cfg.d_model))


class PosEmbed(nn.Module):
    def __init__(self, cfg: TransformerConfig) -> None:
        super().__init__()
        self.W_pos = nn.Parameter(torch.zeros(cfg.n_ctx, cfg.d_model))


class Unembed(nn.Module):
    def __init__(self, cfg: TransformerConfig) -> None:
        super().__init__()
        self.W_U = nn.Parameter(torch.zeros(cfg.d_model, cfg.d_vocab_out))
        if cfg.use_bias:
            self.b_U = nn.Parameter(torch.zeros(cfg.d_vocab_out))


# The shortest attention row (context length) for which torch.softmax is the faster softmax on CPU.
SHORT_ROW = 16


def attention_pattern(q: torch.Tensor, k: torch.Tensor, scale: float, causal: bool) -> torch.Tensor:
    """Softmax attention pattern [batch, head, query_pos, key_pos] from q, k [batch, pos, head, d_head]."""
    scores = torch.einsum("bqhd,bkhd->bhqk", q, k) / scale
    if causal:
        n = scores.shape[-1]
        future = torch.triu(torch.ones(n, n, dtype=torch.bool, device=scores.device), diagonal=1)
        scores = scores.masked_fill(future, float("-inf"))
    if scores.shape[-1] >= SHORT_ROW:
        return torch.softmax(scores, dim=-1)
    # Rows shorter than SHORT_ROW (measured): there torch.softmax runs 3-4x slower than these
    # broadcast operations (forward and backward on [1000, 4, n, n]: 8.7 against 3.5 ms at n = 10),
    # from 16 on it is 2-4x faster. The shift by the row's maximum keeps exp finite; it cancels in
    # the ratio, so it takes no gradient.
    exp = (scores - scores.amax(dim=-1, keepdim=True).detach()).exp()
    return exp / exp.sum(dim=-1, keepdim=True)


class CircuitTransformer(nn.Module):
    """A LayerNorm-free transformer whose components are the nodes of circuits.

    `forward(tokens)` returns logits [batch, pos, d_vocab_out]. `run_with_cache(tokens)` also
    returns every activation under TransformerLens's hook names.
    """

    def __init__(self, cfg: TransformerConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.embed = Embed(cfg)
        self.pos_embed = PosEmbed(cfg)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layers))
        self.unembed = Unembed(cfg)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """Logits [batch, pos, d_vocab_out] for integer tokens [batch, pos]."""
        return self._run(tokens, cache=None)

    def run_with_cache(self, tokens: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Logits and a dict of activations keyed by TransformerLens hook names."""
        cache: dict[str, torch.Tensor] = {}
        logits = self._run(tokens, cache=cache)
        return logits, cache

    def run_layers(self, tokens: torch.Tensor, order: Sequence[int]) -> torch.Tensor:
        """Logits of a pass through the blocks in `order` (skip one by leaving it out, repeat or swap
        them): the layer corruptions of `analyses.layer_corruption`."""
        return self._run(tokens, cache=None, order=order)

    def _run(self, tokens: torch.Tensor, cache: dict[str, torch.Tensor] | None, order: Sequence[int] | None = None) -> torch.Tensor:
        def keep(name: str, value: torch.Tensor) -> torch.Tensor:
            if cache is not None:
                cache[name] = value
            return value

        positions = self.pos_embed.W_pos[: tokens.shape[-1]].expand(tokens.shape[0], -1, -1)
        resid = keep("hook_embed", self.embed.W_E[tokens]) + keep("hook_pos_embed", positions)
        for layer in range(self.cfg.n_layers) if order is None else order:
            block, prefix = self.blocks[layer], f"blocks.{layer}"
            keep(f"{prefix}.hook_resid_pre", resid)
            head_outputs = self.attention_heads(block.attn, resid, resid, resid, cache, prefix)
            attn_out = head_outputs.sum(dim=2) + self.attention_bias(block.attn)
            resid = keep(f"{prefix}.hook_resid_mid", resid + keep(f"{prefix}.hook_attn_out", attn_out))
            if self.cfg.d_mlp > 0:
                mlp_out = self.mlp(block.mlp, resid, cache, prefix)
                resid = resid + keep(f"{prefix}.hook_mlp_out", mlp_out)
            keep(f"{prefix}.hook_resid_post", resid)
        return self.unembed_residual(resid)

    def attention_heads(
        self,
        attn: Attention,
        query_input: torch.Tensor,
        key_input: torch.Tensor,
        value_input: torch.Tensor,
        cache: dict[str, torch.Tensor] | None = None,
        prefix: str = "",
    ) -> torch.Tensor:
        """Per-head outputs [batch, pos, head, d_model] (without b_O).

        Inputs are [batch, pos, d_model], or [batch, pos, head, d_model] when every head reads its
        own (patched) residual stream.
        """
        def project(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
            spec = "bpd,hdk->bphk" if x.dim() == 3 else "bphd,hdk->bphk"
            out = torch.einsum(spec, x, weight)
            return out if bias is None else out + bias

        bias = self.cfg.use_bias
        q = project(query_input, attn.W_Q, attn.b_Q if bias else None)
        k = project(key_input, attn.W_K, attn.b_K if bias else None)
        v = project(value_input, attn.W_V, attn.b_V if bias else None)
        pattern = attention_pattern(q, k, attn.scale, attn.causal)
        z = torch.einsum("bhqk,bkhd->bqhd", pattern, v)
        result = torch.einsum("bqhd,hdm->bqhm", z, attn.W_O)
        if cache is not None:
            for name, value in (("q", q), ("k", k), ("v", v), ("pattern", pattern), ("z", z), ("result", result)):
                cache[f"{prefix}.attn.hook_{name}"] = value
        return result

    def attention_bias(self, attn: Attention) -> torch.Tensor | float:
        """b_O, the part of an attention layer's output that belongs to no single head."""
        return attn.b_O if self.cfg.use_bias else 0.0

    def mlp(
        self,
        mlp: MLP,
        mlp_input: torch.Tensor,
        cache: dict[str, torch.Tensor] | None = None,
        prefix: str = "",
        units: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """MLP output [batch, pos, d_model] for its input [batch, pos, d_model].

        `units` optionally restricts the hidden layer to these indices: exact when every other unit
        contributes nothing (see `live_mlp_units`), and much cheaper for tracr's padded MLPs.
        """
        w_in, w_out = (mlp.W_in, mlp.W_out) if units is None else (mlp.W_in[:, units], mlp.W_out[units])
        pre = mlp_input @ w_in
        if self.cfg.use_bias:
            pre = pre + (mlp.b_in if units is None else mlp.b_in[units])
        post = torch.relu(pre)
        out = post @ w_out
        if self.cfg.use_bias:
            out = out + mlp.b_out
        if cache is not None:
            cache[f"{prefix}.mlp.hook_pre"] = pre
            cache[f"{prefix}.mlp.hook_post"] = post
        return out

    def live_mlp_units(self, layer: int) -> torch.Tensor:
        """Hidden units of a layer's MLP that can change its output: a non-zero input weight or
        bias, and a non-zero output weight. tracr pads every MLP to the widest one with dead units."""
        mlp = self.blocks[layer].mlp
        reads = mlp.W_in.abs().sum(0) > 0
        if self.cfg.use_bias:
            reads |= mlp.b_in != 0
        return torch.nonzero(reads & (mlp.W_out.abs().sum(1) > 0)).flatten()

    def unembed_residual(self, resid: torch.Tensor) -> torch.Tensor:
        """Logits from the final residual stream."""
        logits = resid @ self.unembed.W_U
        return logits + self.unembed.b_U if self.cfg.use_bias else logits

    def parameter_count(self) -> int:
        """Number of scalar parameters."""
        return sum(p.numel() for p in self.parameters())
