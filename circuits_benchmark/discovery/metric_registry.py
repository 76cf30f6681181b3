"""The registry of metrics: how a patched output is compared with the clean one.

A metric has a distance, `(patched, clean, corrupted, weights) -> scalar`, 0 when the patched
output is the clean one (ACDC, patching, subnetwork probing and faithfulness use it), and an
attribution objective of the same signature whose gradient is not zero at the clean output
(EAP and EAP-IG take its gradient). `clean` and `corrupted` are the unpatched model's outputs on
the clean and corrupted inputs, `weights` [batch, pos] the positions that count. Built-ins are
named "module:function" of `circuits_benchmark.discovery` and imported on first use, so listing
metrics (for `--help`) loads no torch; `register_metric` adds a user's callables.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

from circuits_benchmark.choices import OutputKind
from circuits_benchmark.errors import BenchmarkError
from circuits_benchmark.lazy_import import resolve

MetricFunction = Callable[[Any, Any, Any, Any], Any]


@dataclasses.dataclass(frozen=True)
class MetricRecord:
    """distance and attribution: "module:function" or a callable (see the module docstring);
    categorical_only: the metric reads classes, so numerical models refuse it; distance_reads_corrupted:
    the distance needs the corrupted outputs (else it gets None, and no pass computes them)."""

    distance: str | MetricFunction
    attribution: str | MetricFunction
    description: str
    categorical_only: bool = False
    distance_reads_corrupted: bool = True

    def function(self, attribution: bool = False) -> MetricFunction:
        return resolve(self.attribution if attribution else self.distance, "circuits_benchmark.discovery")


METRICS: dict[str, MetricRecord] = {
    "kl": MetricRecord(
        "metrics:kl_distance", "metrics:clean_logprob", "KL(clean || patched) of the output distribution",
        distance_reads_corrupted=False,
    ),
    "l2": MetricRecord(
        "metrics:l2_distance", "metrics:clean_minus_corrupted_projection", "squared error of the output",
        distance_reads_corrupted=False,
    ),
    "logprob": MetricRecord(
        "metrics:clean_logprob_drop", "metrics:clean_logprob", "drop of the log-probability of the clean answer", True,
        distance_reads_corrupted=False,
    ),
    "logit_diff": MetricRecord(
        "metrics:logit_difference_drop", "metrics:logit_difference",
        "drop of logit(clean answer) - logit(corrupted answer)", True,
    ),
}


def register_metric(
    name: str, distance: MetricFunction, attribution: MetricFunction | None = None, description: str = "", categorical_only: bool = False
) -> None:
    """Adds (or replaces) a metric selectable by `name` (`--metric name`). Without an attribution
    objective, gradient methods use the negative distance, whose gradient vanishes wherever the
    distance has its minimum at the clean output (as KL and L2 do)."""
    if not name or ":" in name:
        raise BenchmarkError(f"metric name {name!r} must be non-empty and without ':'")
    objective = attribution or (lambda patched, clean, corrupted, weights: -distance(patched, clean, corrupted, weights))
    METRICS[name] = MetricRecord(distance, objective, description or f"user metric {name}", categorical_only)


def parse_metric(name: str) -> str:
    """`name` if it is a registered metric; raises BenchmarkError naming the choices."""
    if name not in METRICS:
        raise BenchmarkError(f"unknown metric {name!r}: use one of {', '.join(METRICS)}")
    return name


def default_metric(output_kind: str) -> str:
    """KL for categorical outputs, L2 for numerical ones."""
    return "kl" if output_kind == OutputKind.CATEGORICAL else "l2"
