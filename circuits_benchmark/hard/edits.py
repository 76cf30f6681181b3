"""Edits made to a trained hard model that keep every answer: saturation and the distractor.

Both act after SIIT training, so that their strength is a knob that needs no retraining, and both
are checked like the model itself (the answers and the ground-truth checks on held-out inputs,
`hard.checks`).

- `saturate`: multiplies the locate head's query weights and bias by `spec.saturation`. Its
  attention logits grow by that factor, so a pattern that already peaks on the token after the
  marker becomes one-hot: what the head computes is unchanged, but the gradient through its softmax at the clean
  input vanishes, while patching its key input moves its attention as far as before.
- `add_distractor`: sets the weights of the last head of the last layer, which lies outside the
  circuit, so that it attends uniformly to the tokens so far and moves the answer logits towards
  the classes of the content tokens it sees: a confidence change that depends on the input. Its
  size is `spec.distractor` times the smallest answer margin of the unedited model on the
  calibration inputs, measured against the largest swing the head can make, so it never changes
  an answer there. No circuit component reads it (it is in the last layer).
"""

from __future__ import annotations

import copy

import torch

from circuits_benchmark.hard import high_level
from circuits_benchmark.hard.program import CONTENT, HardSpec
from circuits_benchmark.models.transformer import CircuitTransformer
from circuits_benchmark.patching.engine import PatchableModel

# How many training inputs calibrate the distractor (its value map and its size).
CALIBRATION_INPUTS = 2000


def distractor_head(model: CircuitTransformer) -> tuple[int, int]:
    """(layer, head) of the distractor: the last head of the last layer."""
    return model.cfg.n_layers - 1, model.cfg.n_heads - 1


def apply_edits(model: CircuitTransformer, spec: HardSpec, calibration: torch.Tensor) -> CircuitTransformer:
    """A copy of `model` with the spec's saturation and distractor; `calibration` (token ids)
    sets the distractor's size."""
    edited = copy.deepcopy(model)
    if spec.saturation > 1:
        saturate(edited, spec)
    if spec.distractor > 0:
        add_distractor(edited, spec, calibration)
    return edited


def saturate(model: CircuitTransformer, spec: HardSpec) -> None:
    """Scales the locate head's attention logits by `spec.saturation` (in place)."""
    layer, head = (int(part) for part in high_level.ll_node(spec, "locate")[1:].split(".h"))
    attention = model.blocks[layer].attn
    with torch.no_grad():
        attention.W_Q[head] *= spec.saturation
        attention.b_Q[head] *= spec.saturation


def add_distractor(model: CircuitTransformer, spec: HardSpec, calibration: torch.Tensor) -> None:
    """Makes the distractor head (in place) shift logits towards the content classes it reads."""
    layer, head = distractor_head(model)
    attention = model.blocks[layer].attn
    residual = _value_inputs(model, calibration, layer).flatten(0, 1)  # [rows * pos, d_model]
    # Wanted output per position: a residual vector whose logits are +1 on the token's content
    # class and -1/len(CONTENT) on every content class (0 for BOS, the marker, the rare token).
    content = (calibration >= 1) & (calibration <= len(CONTENT))
    wanted_logits = torch.zeros(*calibration.shape, model.cfg.d_vocab_out)
    wanted_logits[..., : len(CONTENT)] = -1.0 / len(CONTENT)
    wanted_logits.scatter_add_(-1, (calibration - 1).clamp(min=0).unsqueeze(-1), torch.ones(*calibration.shape, 1))
    wanted_logits *= content.unsqueeze(-1)
    wanted = wanted_logits.flatten(0, 1) @ torch.linalg.pinv(model.unembed.W_U.detach())
    value_output = torch.linalg.lstsq(residual, wanted).solution  # [d_model, d_model]
    u, s, vh = torch.linalg.svd(value_output)
    k = model.cfg.d_head
    with torch.no_grad():
        attention.W_Q[head] = 0.0
        attention.b_Q[head] = 0.0
        attention.W_K[head] = 0.0
        attention.b_K[head] = 0.0
        attention.W_V[head] = u[:, :k] * s[:k].sqrt()
        attention.b_V[head] = 0.0
        attention.W_O[head] = s[:k].sqrt().unsqueeze(1) * vh[:k]
    scale = spec.distractor * _smallest_margin(model, calibration, spec) / _largest_swing(model, calibration, spec)
    with torch.no_grad():
        attention.W_O[head] *= scale


def _value_inputs(model: CircuitTransformer, tokens: torch.Tensor, layer: int) -> torch.Tensor:
    """The residual stream entering `layer` (what its heads' values read) [rows, pos, d_model]."""
    with torch.no_grad():
        _, sources = PatchableModel(model).run_with_sources(tokens)
    n_sources = 1 + layer * (model.cfg.n_heads + (model.cfg.d_mlp > 0))
    bias = sum(model.attention_bias(model.blocks[l].attn) for l in range(layer)) if layer else 0.0
    return sources[:n_sources].sum(dim=0) + bias


def _answer_logits(model: CircuitTransformer, tokens: torch.Tensor, spec: HardSpec) -> torch.Tensor:
    with torch.no_grad():
        return model(tokens)[:, list(spec.answer_positions)]


def _smallest_margin(model: CircuitTransformer, tokens: torch.Tensor, spec: HardSpec) -> float:
    """The smallest gap between an answer's logit and the next one, with the distractor silent."""
    layer, head = distractor_head(model)
    saved = model.blocks[layer].attn.W_O[head].clone()
    with torch.no_grad():
        model.blocks[layer].attn.W_O[head] = 0.0
        top2 = _answer_logits(model, tokens, spec).topk(2, dim=-1).values
        model.blocks[layer].attn.W_O[head] = saved
    return float((top2[..., 0] - top2[..., 1]).min())


def _largest_swing(model: CircuitTransformer, tokens: torch.Tensor, spec: HardSpec) -> float:
    """The largest spread the distractor's own logits take at an answer position, over clean and
    any other calibration input (so that resampling it cannot move an answer either)."""
    layer, head = distractor_head(model)
    with torch.no_grad():
        _, sources = PatchableModel(model).run_with_sources(tokens)
        index = 1 + layer * (model.cfg.n_heads + (model.cfg.d_mlp > 0)) + head
        logits = sources[index][:, list(spec.answer_positions)] @ model.unembed.W_U
    return float(2 * logits.abs().amax())
