"""Hard-concrete gates (Louizos et al. 2018): stochastic masks in [0, 1] with a differentiable
expected L0 norm, shared by subnetwork probing and edge pruning."""

from __future__ import annotations

import math

import torch

# Stretch interval and temperature, the values of Louizos et al.
GAMMA, ZETA, BETA = -0.1, 1.1, 2 / 3


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
