"""What a SIIT run of one case is made of, built once: HL model, LL shape, correspondence, LL
ground truth, held-out split. Training and evaluation both start here, so they cannot disagree.
"""

from __future__ import annotations

import dataclasses

import torch

from circuits_benchmark.circuits.circuit import Circuit
from circuits_benchmark.errors import BenchmarkError
from circuits_benchmark.models.compiled_case import CompiledCase
from circuits_benchmark.models.transformer import CircuitTransformer, TransformerConfig
from circuits_benchmark.training.correspondence import (
    Correspondence,
    build_correspondence,
    ll_config,
    ll_ground_truths,
)
from circuits_benchmark.training.data_split import InputSplit, split_unique_inputs
from circuits_benchmark.patching.output_change import NUMERICAL_MATCH_TOLERANCE
from circuits_benchmark.training.objectives import SiitObjective

# Standard deviation of the fresh LL weights, chosen by measurement: with 0.1 the strict loss of
# case 18 stalls (its non-circuit heads get recruited early), with fan-in scaling (0.35 on case 3)
# case 3 trains several times slower; small weights start every component nearly silent, which
# the strict loss wants of the components outside the circuit anyway.
INIT_STD = 0.2


@dataclasses.dataclass
class SiitTask:
    """A tracr case prepared for SIIT: the HL model and everything derived from it for one seed."""

    compiled: CompiledCase
    ll_config: TransformerConfig
    correspondence: Correspondence
    ll_ground_truths: dict[str, Circuit]
    split: InputSplit

    @classmethod
    def build(cls, compiled: CompiledCase, seed: int) -> "SiitTask":
        """Sizes the LL model, maps HL nodes onto it, derives the LL ground truth and splits the inputs.

        Raises BenchmarkError for a case with no HL node to intervene on.
        """
        config = ll_config(compiled.model.cfg)
        correspondence = build_correspondence(compiled.ground_truths, config)
        if not correspondence.hl_nodes:
            raise BenchmarkError(f"case {compiled.case.case_id} has no head or MLP in its circuit: nothing to train")
        return cls(
            compiled=compiled,
            ll_config=config,
            correspondence=correspondence,
            ll_ground_truths=ll_ground_truths(correspondence, compiled.ground_truths),
            split=split_unique_inputs(compiled, seed),
        )

    def objective(self, ll_model: CircuitTransformer, tolerance: float = NUMERICAL_MATCH_TOLERANCE) -> SiitObjective:
        """The losses and metrics for `ll_model`; the strict loss keeps the resample LL ground truth."""
        return SiitObjective(
            self.compiled.model, ll_model, self.correspondence, self.ll_ground_truths["resample"], tolerance
        )


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
