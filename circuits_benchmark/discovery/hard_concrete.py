"""Hard-concrete gates (Louizos et al. 2018): stochastic masks in [0, 1] with a differentiable
expected L0 norm, and when their training may stop: shared by subnetwork probing and edge pruning."""

from __future__ import annotations

import math

import torch

# Stretch interval and temperature, the values of Louizos et al.
GAMMA, ZETA, BETA = -0.1, 1.1, 2 / 3
# Early stop (`settled`): training of the gates ends once the circuit (gates with log-alpha > 0)
# has held for SETTLED_EPOCHS steps, every log-alpha is at least SETTLED_MARGIN from 0 (Adam at the default
# rate, at most 0.1 a step, needs 10 steps against the trend to cross it), and no log-alpha's
# recent trend would carry it across 0 before the last epoch: the circuit read then is the one
# the full run ends with, at a fraction of the cost.
SETTLED_EPOCHS = 30
SETTLED_MARGIN = 1.0


def sample_gates(log_alpha: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """One draw of every gate (differentiable in `log_alpha`)."""
    u = torch.rand(log_alpha.shape, generator=generator).to(log_alpha.device).clamp(1e-6, 1 - 1e-6)
    s = torch.sigmoid((torch.log(u) - torch.log(1 - u) + log_alpha) / BETA)
    return (s * (ZETA - GAMMA) + GAMMA).clamp(0, 1)


def open_probability(log_alpha: torch.Tensor) -> torch.Tensor:
    """P(gate > 0) per gate: its expected L0 norm."""
    return torch.sigmoid(log_alpha - BETA * math.log(-GAMMA / ZETA))


def deterministic_gate(log_alpha: torch.Tensor) -> torch.Tensor:
    """The gate at test time (no noise)."""
    return (torch.sigmoid(log_alpha) * (ZETA - GAMMA) + GAMMA).clamp(0, 1)


def settled(history: list[torch.Tensor], log_alpha: torch.Tensor, epochs_left: int) -> bool:
    """Whether the circuit can be read now: over the last SETTLED_EPOCHS steps no gate crossed 0,
    every log-alpha is at least SETTLED_MARGIN from 0, and none would cross 0 by the last epoch at
    its average rate of change over those steps. `history` is updated in place."""
    history.append(log_alpha.clone())
    if len(history) <= SETTLED_EPOCHS:
        return False
    before = history.pop(0)
    rate = (log_alpha - before) / SETTLED_EPOCHS
    at_the_end = log_alpha + rate * epochs_left
    same_side = torch.stack(history).gt(0).eq(log_alpha.gt(0)).all() and torch.equal(at_the_end > 0, log_alpha > 0)
    return bool(same_side) and bool(log_alpha.abs().min() >= SETTLED_MARGIN)
