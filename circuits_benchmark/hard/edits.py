"""The edit made to a trained hard model: saturation, a temperature that keeps every answer.

It acts after SIIT training, so that its strength is a knob that needs no retraining, and the
edited model is checked like the model itself (its answers and the ground-truth checks on
held-out inputs, `hard.checks`).

`saturate` multiplies the locate head's query weights and bias, and the unembedding, by
`spec.saturation`: the head's attention logits and the output logits scale by that factor. SIIT
leaves the trained model saturated (the head's attention one-hot, the answers' probabilities ~1),
so that the gradient at the clean input vanishes while patching still moves the answer; a factor
below 1 is a higher temperature, which softens both and brings the gradient back (the
unsaturated end of the knob), a factor above 1 sharpens them further. Scaling the output logits
never changes an argmax; softening the attention could, which the checks would catch.
"""

from __future__ import annotations

import copy

import torch

from circuits_benchmark.hard import high_level
from circuits_benchmark.hard.program import HardSpec
from circuits_benchmark.models.transformer import CircuitTransformer


def apply_edits(model: CircuitTransformer, spec: HardSpec) -> CircuitTransformer:
    """A copy of `model` with the spec's saturation (the model itself when it has none)."""
    if spec.saturation == 1:
        return model
    edited = copy.deepcopy(model)
    saturate(edited, spec)
    return edited


def saturate(model: CircuitTransformer, spec: HardSpec) -> None:
    """Scales the locate head's attention logits and the output logits by `spec.saturation` (in place)."""
    layer, head = (int(part) for part in high_level.ll_node(spec, "locate")[1:].split(".h"))
    attention = model.blocks[layer].attn
    with torch.no_grad():
        attention.W_Q[head] *= spec.saturation
        attention.b_Q[head] *= spec.saturation
        model.unembed.W_U *= spec.saturation
        if hasattr(model.unembed, "b_U"):
            model.unembed.b_U *= spec.saturation
