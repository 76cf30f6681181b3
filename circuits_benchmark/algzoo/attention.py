"""The AlgZoo attention-only transformer, as a stack of M models of one width run as one program.

Each model: token and position embeddings, `n_layers` single-head attention layers without biases
(residual stream, no MLP, no LayerNorm, no causal mask), logits read at the last position;
d_model = d_head = hidden. `AttentionStack` exists for training; `export_transformer` turns one
of its models into the library's `CircuitTransformer`, which is what every other part of the
project (discovery, patching, the registry) runs.

Models of different lengths share a stack by left padding: a model of length n < n_max sees its
tokens in the last n positions, the padded key positions are masked out of every softmax, and its
unused embedding rows and logit columns are zero and get no gradient. Left padding keeps the
readout at the last position, so each model computes exactly what its exported form computes.
"""

from __future__ import annotations

import torch
from torch import nn

from circuits_benchmark.choices import OutputKind
from circuits_benchmark.models.transformer import CircuitTransformer, TransformerConfig

N_LAYERS = 2


def transformer_config(hidden: int, n: int) -> TransformerConfig:
    """The CircuitTransformer shape of an AlgZoo transformer with width `hidden` on length `n`."""
    return TransformerConfig(
        n_layers=N_LAYERS, n_heads=1, d_model=hidden, d_head=hidden, d_mlp=0, d_vocab=n, d_vocab_out=n,
        n_ctx=n, causal=False, output_kind=OutputKind.CATEGORICAL, use_bias=False,
    )


class AttentionStack(nn.Module):
    """M attention-only transformers of width `hidden`, padded to length `n_max`.

    Weights: W_E [M, n_max, h], W_pos [M, n_max, h], W_Q/W_K/W_V/W_O [M, layers, h, h],
    W_U [M, h, n_max]; the products follow TransformerLens (x @ W_Q, z @ W_O, resid @ W_U).
    """

    def __init__(self, lengths: list[int], hidden: int) -> None:
        super().__init__()
        n_models, n_max = len(lengths), max(lengths)
        self.lengths = list(lengths)
        self.W_E = nn.Parameter(torch.zeros(n_models, n_max, hidden))
        self.W_pos = nn.Parameter(torch.zeros(n_models, n_max, hidden))
        for name in ("W_Q", "W_K", "W_V", "W_O"):
            setattr(self, name, nn.Parameter(torch.zeros(n_models, N_LAYERS, hidden, hidden)))
        self.W_U = nn.Parameter(torch.zeros(n_models, hidden, n_max))
        positions = torch.arange(n_max)
        self.register_buffer("real_positions", positions >= n_max - torch.tensor(lengths)[:, None], persistent=False)

    @property
    def hidden(self) -> int:
        return self.W_E.shape[-1]

    def member_slices(self, index: int) -> dict[str, tuple[slice, ...]]:
        """Where model `index`'s own weights sit inside its slice of each stacked parameter."""
        n, n_max = self.lengths[index], self.W_E.shape[1]
        slices: dict[str, tuple[slice, ...]] = {name: () for name in ("W_Q", "W_K", "W_V", "W_O")}
        slices.update(W_E=(slice(0, n),), W_pos=(slice(n_max - n, n_max),), W_U=(slice(None), slice(0, n)))
        return slices

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """Logits at the last position [M, B, n_max] for left-padded tokens [M, B, n_max].

        Internally the batch is the last axis ([M, pos, d, B]): with a handful of positions and
        dimensions, CPU kernels are fast only along the long batch axis (batched 6x4 matmuls and
        a softmax over 6 entries run several times slower than these broadcast products).
        """
        models = torch.arange(tokens.shape[0], device=tokens.device)[:, None, None]
        resid = (self.W_E[models, tokens] + self.W_pos[:, None]).permute(0, 2, 3, 1)
        padding = ~self.real_positions[:, None, :, None]
        for layer in range(N_LAYERS):
            q, k, v = (getattr(self, name)[:, None, layer].mT @ resid for name in ("W_Q", "W_K", "W_V"))
            scores = sum(q[:, :, None, d] * k[:, None, :, d] for d in range(self.hidden)) / self.hidden ** 0.5
            pattern = torch.softmax(scores.masked_fill(padding, float("-inf")), dim=2)
            z = torch.stack([(pattern * v[:, None, :, d]).sum(dim=2) for d in range(self.hidden)], dim=2)
            resid = resid + self.W_O[:, None, layer].mT @ z
        return (self.W_U.mT @ resid[:, -1]).mT


def init_transformer_weights(hidden: int, n: int, generator: torch.Generator) -> dict[str, torch.Tensor]:
    """Random weights of one model (unbatched shapes: W_Q [layers, h, h], ...) from `generator`.

    Unit-variance embeddings and 1/sqrt(h)-scaled matrices keep the residual stream's scale even
    across layers at the start of training.
    """
    scale = hidden ** -0.5
    device = generator.device

    def draw(*shape: int) -> torch.Tensor:
        return torch.randn(*shape, generator=generator, device=device)

    weights = {"W_E": draw(n, hidden), "W_pos": draw(n, hidden)}
    for name in ("W_Q", "W_K", "W_V", "W_O"):
        weights[name] = draw(N_LAYERS, hidden, hidden) * scale
    weights["W_U"] = draw(hidden, n) * scale
    return weights


def export_transformer(weights: dict[str, torch.Tensor]) -> CircuitTransformer:
    """A CircuitTransformer from one model's unbatched, unpadded weights."""
    n, hidden = weights["W_E"].shape
    model = CircuitTransformer(transformer_config(hidden, n))
    with torch.no_grad():
        model.embed.W_E.copy_(weights["W_E"])
        model.pos_embed.W_pos.copy_(weights["W_pos"])
        for layer, block in enumerate(model.blocks):
            for name in ("W_Q", "W_K", "W_V", "W_O"):
                getattr(block.attn, name).copy_(weights[name][layer][None])
        model.unembed.W_U.copy_(weights["W_U"])
    return model


def transformer_weights(model: CircuitTransformer) -> dict[str, torch.Tensor]:
    """Inverse of `export_transformer`: one model's unbatched weights."""
    weights = {"W_E": model.embed.W_E.detach(), "W_pos": model.pos_embed.W_pos.detach(), "W_U": model.unembed.W_U.detach()}
    for name in ("W_Q", "W_K", "W_V", "W_O"):
        weights[name] = torch.stack([getattr(block.attn, name)[0].detach() for block in model.blocks])
    return weights
