"""Conversion between CircuitTransformer and TransformerLens's HookedTransformer.

HookedTransformer is the format other circuit tools consume. Both share parameter names and
layouts, so conversion copies the state dict. transformer_lens is imported only here, only
when called: it costs seconds and hundreds of megabytes.
"""

from __future__ import annotations

import pickle
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from circuits_benchmark.choices import OutputKind
from circuits_benchmark.errors import BenchmarkError
from circuits_benchmark.models.benchmark_model import BenchmarkModel
from circuits_benchmark.models.transformer import CircuitTransformer, TransformerConfig
from circuits_benchmark.models.registry import register_loader

if TYPE_CHECKING:
    from transformer_lens import HookedTransformer

    from circuits_benchmark.models.model_id import ModelId


def to_hooked_transformer(model: CircuitTransformer) -> "HookedTransformer":
    """A HookedTransformer computing exactly what `model` computes (same weights, zero biases if it has none)."""
    from transformer_lens import HookedTransformer, HookedTransformerConfig

    cfg = model.cfg
    hooked_cfg = HookedTransformerConfig(
        n_layers=cfg.n_layers,
        d_model=cfg.d_model,
        d_head=cfg.d_head,
        n_heads=cfg.n_heads,
        d_mlp=cfg.d_mlp if cfg.d_mlp > 0 else None,
        attn_only=cfg.d_mlp == 0,
        d_vocab=cfg.d_vocab,
        d_vocab_out=cfg.d_vocab_out,
        n_ctx=cfg.n_ctx,
        act_fn="relu",
        normalization_type=None,
        attention_dir="causal" if cfg.causal else "bidirectional",
        positional_embedding_type="standard",
        default_prepend_bos=False,
        device="cpu",
    )
    with warnings.catch_warnings():  # TL 3.9 announces its own deprecation on every construction
        warnings.simplefilter("ignore", DeprecationWarning)
        hooked = HookedTransformer(hooked_cfg)
    state = hooked.state_dict()
    ours = model.state_dict()
    for name, value in state.items():
        if name in ours:
            state[name] = ours[name].clone()
        elif _is_bias(name):
            state[name] = torch.zeros_like(value)  # our model has no biases: TL's must be zero
    hooked.load_state_dict(state)
    return hooked.eval()


def from_hooked_transformer(hooked: "HookedTransformer", output_kind: OutputKind = OutputKind.CATEGORICAL) -> CircuitTransformer:
    """A CircuitTransformer with the HookedTransformer's weights.

    Raises BenchmarkError for architectures the library does not model (LayerNorm, gated MLPs,
    non-ReLU activations, rotary or shortformer positions).
    """
    tl = hooked.cfg
    unsupported = {
        "normalization_type": tl.normalization_type is not None,
        "act_fn": tl.act_fn != "relu",
        "gated_mlp": bool(getattr(tl, "gated_mlp", False)),
        "positional_embedding_type": tl.positional_embedding_type != "standard",
    }
    problems = [name for name, bad in unsupported.items() if bad]
    if problems:
        raise BenchmarkError(f"cannot convert this HookedTransformer: unsupported {', '.join(problems)}")
    cfg = TransformerConfig(
        n_layers=tl.n_layers,
        n_heads=tl.n_heads,
        d_model=tl.d_model,
        d_head=tl.d_head,
        d_mlp=0 if tl.attn_only else tl.d_mlp,
        d_vocab=tl.d_vocab,
        d_vocab_out=tl.d_vocab_out,
        n_ctx=tl.n_ctx,
        causal=tl.attention_dir == "causal",
        output_kind=output_kind,
        use_bias=True,
    )
    model = CircuitTransformer(cfg)
    theirs = hooked.state_dict()
    model.load_state_dict({name: theirs[name].clone() for name in model.state_dict()})
    return model.eval()


@register_loader("file")
def load_hooked_file(model_id: "ModelId", output_dir: Path) -> BenchmarkModel:
    """`file:<path>`: a HookedTransformer saved with `torch.save(model, path)` or as
    `{"cfg": model.cfg.to_dict(), "state_dict": model.state_dict()}`, as a benchmark model without
    a ground truth; its inputs are uniformly random tokens of its full context length.

    The file is unpickled: load only files you trust. Raises BenchmarkError for a missing or
    unreadable file, or an architecture `from_hooked_transformer` does not model.
    """
    from transformer_lens import HookedTransformer, HookedTransformerConfig

    path = Path(model_id.parts[0]).expanduser()
    if not path.is_file():
        raise BenchmarkError(f"no model file at {path}")
    try:
        saved = torch.load(path, map_location="cpu", weights_only=False)
        if isinstance(saved, dict) and {"cfg", "state_dict"} <= set(saved):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                hooked = HookedTransformer(HookedTransformerConfig.unwrap(saved["cfg"]))
            hooked.load_state_dict(saved["state_dict"])
        elif isinstance(saved, HookedTransformer):
            hooked = saved
        else:
            raise BenchmarkError(f"{path} holds neither a HookedTransformer nor a {{'cfg', 'state_dict'}} dict")
    except (OSError, RuntimeError, KeyError, TypeError, ValueError, pickle.UnpicklingError) as error:
        raise BenchmarkError(f"cannot load a HookedTransformer from {path}: {str(error).splitlines()[0]}") from None
    model = from_hooked_transformer(hooked.to("cpu"))
    cfg = model.cfg

    def sample(rng: np.random.Generator, count: int) -> torch.Tensor:
        return torch.from_numpy(rng.integers(0, cfg.d_vocab, size=(count, cfg.n_ctx)))

    return BenchmarkModel(str(model_id), model.requires_grad_(False), sample, torch.ones(cfg.n_ctx, dtype=torch.bool), {})


def _is_bias(name: str) -> bool:
    return name.rsplit(".", 1)[-1].startswith("b_")
