"""The closed sets of names a user picks from (the ablation; metrics are a registry users extend:
`discovery.metric_registry`).

Members are strings (`Ablation.ZERO == "zero"`), so they go to result files and the store as
their names; `parse` is the one place a name given as text is checked.
"""

from __future__ import annotations

import enum

from circuits_benchmark.errors import BenchmarkError


class Choice(enum.StrEnum):
    """Members are their names as strings, so they go to files and the store as written."""

    @classmethod
    def parse(cls, value: str):  # noqa: ANN206 - returns the subclass's member
        """The member named `value`; raises BenchmarkError naming the choices."""
        try:
            return cls(value)
        except ValueError:
            raise BenchmarkError(f"unknown {cls.__name__.lower()} {value!r}: use one of {', '.join(cls)}") from None


class Ablation(Choice):
    """What an edge carries once it is cut out of a circuit: resample, the source's output on
    another (corrupted) input; zero, nothing; mean, the source's mean output over the inputs."""

    RESAMPLE = "resample"
    ZERO = "zero"
    MEAN = "mean"

    @property
    def ground_truth(self) -> "Ablation":
        """Which stored ground truth holds under this ablation: zero's for zero; resample's for
        resample and mean (a mean value varies no more than a resampled one, so mean ablation
        preserves exactly what resample does)."""
        return Ablation.ZERO if self is Ablation.ZERO else Ablation.RESAMPLE

