"""The settings of a SIIT run (`SiitSettings`): loss weights, optimisation, when to stop. Each task
family has its own defaults (its recipe, `training.task_families`)."""

from __future__ import annotations

import dataclasses
import math

from circuits_benchmark.errors import BenchmarkError
from circuits_benchmark.patching.output_change import NUMERICAL_MATCH_TOLERANCE


@dataclasses.dataclass(frozen=True)
class SiitTerm:
    """One term of the SIIT loss: its name (in losses and meta.json), the setting that weighs it,
    and the held-out metric that judges it."""

    loss: str
    weight: str
    metric: str


# The one table of SIIT's terms; every list of losses, weights or held-out metrics derives from it.
SIIT_TERMS = (
    SiitTerm("behaviour", "behaviour_weight", "accuracy"),
    SiitTerm("iit", "iit_weight", "iia"),
    SiitTerm("strict", "strict_weight", "strict_iia"),
)
HELD_OUT_METRICS = tuple(term.metric for term in SIIT_TERMS)


@dataclasses.dataclass(frozen=True)
class SiitSettings:
    """A SIIT run's settings; the flags of `./main.py train iit` map one to one onto them.

    The total loss is behaviour_weight * behaviour + iit_weight * IIT + strict_weight * strict
    (each weight applied once; a zero weight skips that term's passes). Early stopping ends
    training at the first evaluation whose held-out accuracy, IIA and strict IIA all reach `target`
    (of the last two, those whose loss is trained) and, when the strict loss trains the circuit,
    whose LL ground truth is faithful and minimal (`trainer.may_stop_early`);
    `max_seconds` ends it at the first epoch end past that much training time (None: no limit).
    The learning rate 3e-3 is measured: 1e-2 trains case 3 faster but oscillates on case 18.
    """

    behaviour_weight: float = 1.0
    iit_weight: float = 1.0
    strict_weight: float = 0.4
    epochs: int = 500
    batch_size: int = 64
    lr: float = 3e-3
    seed: int = 0
    early_stop: bool = True
    target: float = 0.995
    tolerance: float = NUMERICAL_MATCH_TOLERANCE
    max_seconds: float | None = None

    def validate(self) -> None:
        """Raises BenchmarkError naming the first bad value."""
        weights = (self.behaviour_weight, self.iit_weight, self.strict_weight)
        numbers = (*weights, self.lr, self.tolerance, self.target, self.max_seconds or 1.0)
        if not all(math.isfinite(number) for number in numbers):
            raise BenchmarkError(f"loss weights, --lr, --atol, --target and --max-seconds must be finite numbers, got {numbers}")
        if min(weights) < 0 or max(weights) == 0:
            raise BenchmarkError(f"loss weights must be >= 0 and not all 0, got b={weights[0]} iit={weights[1]} s={weights[2]}")
        if self.epochs < 1 or self.batch_size < 2:
            raise BenchmarkError(f"need --epochs >= 1 and --batch-size >= 2, got {self.epochs} and {self.batch_size}")
        if self.lr <= 0 or self.tolerance <= 0 or not 0 < self.target <= 1:
            raise BenchmarkError(f"need --lr > 0, --atol > 0 and 0 < --target <= 1, got {self.lr}, {self.tolerance}, {self.target}")
        if self.max_seconds is not None and self.max_seconds <= 0:
            raise BenchmarkError(f"--max-seconds must be > 0, got {self.max_seconds}")

    def run_id(self) -> str:
        """The run's folder name: every setting except those that only decide when to stop
        (epochs, early_stop, target, max_seconds), so that resuming can never change what it learns."""
        return (
            f"b{self.behaviour_weight:g}-iit{self.iit_weight:g}-s{self.strict_weight:g}"
            f"-lr{self.lr:g}-bs{self.batch_size}-atol{self.tolerance:g}-seed{self.seed}"
        )

    def loss_weights(self) -> dict[str, float]:
        """Each SIIT term's weight, by the term's loss name."""
        return {term.loss: getattr(self, term.weight) for term in SIIT_TERMS}

    def watched_metrics(self) -> list[str]:
        """The held-out metrics of the trained terms: accuracy always (a behaviour-only model is
        judged on it), IIA and strict IIA only where their losses are trained."""
        return [term.metric for term in SIIT_TERMS if term.loss == "behaviour" or getattr(self, term.weight) > 0]
