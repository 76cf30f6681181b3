"""What a SIIT run of one case is made of, built once: HL model, LL shape, correspondence, LL
ground truth, held-out split, targeted positions. Training and evaluation both start here, so
they cannot disagree. A case is a tracr case (its compiled model is the HL model) or IOI (a
causal model written in Python, `ioi.high_level`).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from circuits_benchmark.circuits.circuit import Circuit
from circuits_benchmark.errors import BenchmarkError
from circuits_benchmark.ioi import IOI
from circuits_benchmark.models.compiled_case import CompiledCase
from circuits_benchmark.models.transformer import CircuitTransformer, TransformerConfig
from circuits_benchmark.training.correspondence import (
    Correspondence,
    build_correspondence,
    ll_config,
    ll_ground_truths,
)
from circuits_benchmark.training.data_split import InputSplit, split_unique_inputs
from circuits_benchmark.training.high_level import CompiledHighLevel, HighLevelModel
from circuits_benchmark.patching.output_change import NUMERICAL_MATCH_TOLERANCE
from circuits_benchmark.training.objectives import SiitObjective

# Standard deviation of the fresh LL weights, chosen by measurement: with 0.1 the strict loss of
# case 18 stalls (its non-circuit heads get recruited early), with fan-in scaling (0.35 on case 3)
# case 3 trains several times slower; small weights start every component nearly silent, which
# the strict loss wants of the components outside the circuit anyway.
INIT_STD = 0.2

# A case: a tracr case id, or IOI.
CaseKey = int | str


@dataclasses.dataclass
class SiitTask:
    """A case prepared for SIIT: the HL model and everything derived from it for one seed.

    `high_level(device)` builds the HL model on a device; `targeted` (bool [pos]) marks the output
    positions trained and scored; `hl_model` is what a run's meta.json records of the HL model;
    `init_std` the standard deviation of the fresh LL weights; `max_grad_norm` clips each step's
    gradient norm (None: no clipping); `lr_plateau` (patience, factor) lowers the learning rate
    when the held-out metrics stop improving (see `trainer._Loop._decay_on_plateau`; None: never);
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
    lr_plateau: tuple[int, float] | None = None
    pair_order: Callable[[torch.Tensor, torch.Generator], torch.Tensor] | None = None

    @classmethod
    def build(cls, compiled: CompiledCase, seed: int) -> "SiitTask":
        """A tracr case's task: sizes the LL model, maps HL nodes onto it, derives the LL ground
        truth and splits the inputs. Raises BenchmarkError for a case with no HL node to intervene on.
        """
        config = ll_config(compiled.model.cfg)
        correspondence = build_correspondence(compiled.ground_truths, config)
        if not correspondence.hl_nodes:
            raise BenchmarkError(f"case {compiled.case.case_id} has no head or MLP in its circuit: nothing to train")
        targeted = torch.ones(config.n_ctx, dtype=torch.bool)
        targeted[0] = False  # BOS carries no output; "undefined" is a class of its own elsewhere
        return cls(
            case=compiled.case.case_id,
            high_level=lambda device: CompiledHighLevel(compiled.model.to(device), correspondence.hl_nodes),
            ll_config=config,
            correspondence=correspondence,
            ll_ground_truths=ll_ground_truths(correspondence, compiled.ground_truths),
            split=split_unique_inputs(compiled, seed),
            targeted=targeted,
            hl_model={"fingerprint": compiled.fingerprint, "config": compiled.model.cfg.to_dict()},
        )

    @classmethod
    def ioi(cls, seed: int) -> "SiitTask":
        """IOI's task: the causal model, the reference's LL shape and correspondence, the split by
        template and name pair, and the last position as the one target."""
        from circuits_benchmark.ioi import high_level, sentences, task_model

        tokenizer = sentences.tokenizer()
        config = high_level.ll_config(tokenizer)
        rng = np.random.default_rng(seed)
        train = sentences.sample_sentences(rng, sentences.TRAIN_SENTENCES, held_out=False)
        test = sentences.sample_sentences(rng, sentences.TEST_SENTENCES, held_out=True)
        # A stream of its own, so that scrambling leaves the held-out sentences as they were drawn.
        train = sentences.scramble_share(train, high_level.SCRAMBLED_SHARE, np.random.default_rng([seed, 1]))
        train_tokens = _unique(sentences.encode(train))
        return cls(
            case=IOI,
            high_level=lambda device: high_level.IoiCausalModel(tokenizer),
            ll_config=config,
            correspondence=Correspondence({node: (ll,) for node, ll in high_level.CORRESPONDENCE.items()}),
            ll_ground_truths=high_level.ll_ground_truths(),
            split=InputSplit(train=train_tokens, test=_unique(sentences.encode(test))),
            targeted=task_model.metric_positions(),
            hl_model={"name": IOI, "fingerprint": high_level.task_fingerprint(), "nodes": list(high_level.NODES)},
            init_std=high_level.INIT_STD,
            max_grad_norm=high_level.MAX_GRAD_NORM,
            lr_plateau=high_level.LR_PLATEAU,
            pair_order=high_level.SubjectPairing(train_tokens, high_level.SAME_SUBJECT_SHARE).pair,
        )

    def objective(
        self, ll_model: CircuitTransformer, tolerance: float = NUMERICAL_MATCH_TOLERANCE, device: str = "cpu"
    ) -> SiitObjective:
        """The losses and metrics for `ll_model`; the strict loss keeps the resample LL ground truth."""
        return SiitObjective(
            self.high_level(device), ll_model, self.correspondence, self.ll_ground_truths["resample"], self.targeted, tolerance
        )


def build_task(case: CaseKey, output_dir: Path, seed: int) -> SiitTask:
    """The task of a tracr case (compiled through `output_dir`'s cache) or of IOI."""
    if case == IOI:
        return SiitTask.ioi(seed)
    from circuits_benchmark.models.compiled import load_compiled_case

    return SiitTask.build(load_compiled_case(case, output_dir / "cache"), seed)


def _unique(tokens: torch.Tensor) -> torch.Tensor:
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
