"""What a SIIT run of one task is made of, built once: HL model, LL shape, correspondence, LL
ground truth, held-out split, targeted positions. Training and evaluation both start here, so
they cannot disagree. Each task family builds its own (`training.task_families`): a tracr case's
HL model is its compiled model (`training.tracr_tasks`), IOI's a causal model written in Python
(`ioi.siit_task`).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

import torch

from circuits_benchmark.choices import Ablation
from circuits_benchmark.circuits.circuit import Circuit
from circuits_benchmark.models.transformer import CircuitTransformer, TransformerConfig
from circuits_benchmark.training.correspondence import Correspondence
from circuits_benchmark.training.data_split import InputSplit
from circuits_benchmark.training.high_level import HighLevelModel
from circuits_benchmark.training.task_keys import CaseKey
from circuits_benchmark.patching.output_change import NUMERICAL_MATCH_TOLERANCE
from circuits_benchmark.training.objectives import SiitObjective

# Standard deviation of the fresh LL weights, chosen by measurement: with 0.1 the strict loss of
# case 18 stalls (its non-circuit heads get recruited early), with fan-in scaling (0.35 on case 3)
# case 3 trains several times slower; small weights start every component nearly silent, which
# the strict loss wants of the components outside the circuit anyway.
INIT_STD = 0.2


# A plateau rule: (patience, factor) or (patience, factor, floor); `trainer.plateaued` reads it.
LrPlateau = tuple[int, float] | tuple[int, float, float]

@dataclasses.dataclass
class SiitTask:
    """A case prepared for SIIT: the HL model and everything derived from it for one seed.

    `high_level(device)` builds the HL model on a device; `targeted` (bool [pos]) marks the output
    positions trained and scored; `hl_model` is what a run's meta.json records of the HL model;
    `init_std` the standard deviation of the fresh LL weights; `max_grad_norm` clips each step's
    gradient norm (None: no clipping); `lr_plateau` (patience, factor[, floor]) lowers the
    learning rate when the held-out metrics stop improving (see `trainer._Loop._decay_on_plateau`;
    None: never);
    `pair_order(order, generator)` rearranges an epoch's order of training inputs, so that chosen
    inputs become each other's IIT sources (each input's source is the next one in its batch).
    """

    case: CaseKey
    high_level: Callable[[str], HighLevelModel]
    ll_config: TransformerConfig
    correspondence: Correspondence
    ll_ground_truths: dict[str, Circuit]
    split: InputSplit
    targeted: torch.Tensor
    hl_model: dict[str, Any]
    init_std: float = INIT_STD
    max_grad_norm: float | None = None
    lr_plateau: LrPlateau | None = None
    pair_order: Callable[[torch.Tensor, torch.Generator], torch.Tensor] | None = None

    def objective(
        self, ll_model: CircuitTransformer, tolerance: float = NUMERICAL_MATCH_TOLERANCE, device: str = "cpu"
    ) -> SiitObjective:
        """The losses and metrics for `ll_model`; the strict loss keeps the resample LL ground truth."""
        return SiitObjective(
            self.high_level(device), ll_model, self.correspondence, self.ll_ground_truths[Ablation.RESAMPLE], self.targeted, tolerance
        )


def unique_rows(tokens: torch.Tensor) -> torch.Tensor:
    """The distinct rows of `tokens`, in the order they first occur."""
    rows = list(dict.fromkeys(tuple(row) for row in tokens.tolist()))
    return torch.tensor(rows, dtype=tokens.dtype)


def fresh_ll_model(config: TransformerConfig, seed: int, std: float = INIT_STD) -> CircuitTransformer:
    """A newly initialised LL model: weights drawn from N(0, std^2) with `seed`, biases zero."""
    model = CircuitTransformer(config)
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if name.rsplit(".", 1)[-1].startswith("b_"):
                parameter.zero_()
            else:
                parameter.copy_(torch.randn(parameter.shape, generator=generator) * std)
    return model
