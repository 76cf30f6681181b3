"""The closed sets of names: what a user picks from (ablation, suite, executor, the bench's model
kinds) and what the code tells apart (output kind, circuit granularity, why training stopped,
where a stored run came from). Open sets are registries users extend instead: metrics
(`discovery.metric_registry`), methods, model kinds of ids (`models.registry`), task families.

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



class OutputKind(Choice):
    """What a model outputs: one logit per class, or one real value."""

    CATEGORICAL = "categorical"
    NUMERICAL = "numerical"


class Granularity(Choice):
    """A circuit's edges into heads: into the head (component; canonical, scored) or into one of its
    q/k/v inputs (qkv)."""

    COMPONENT = "component"
    QKV = "qkv"


class Suite(Choice):
    """What `bench` covers: a few models of every family (the default, minutes), InterpBench's
    original-release cases, or every case of every family."""

    QUICK = "quick"
    ORIGINAL = "original"
    FULL = "full"


class BenchModelKind(Choice):
    """The model families `bench --models` selects among, per case."""

    TRACR = "tracr"
    SIIT = "siit"
    COMPRESSED = "compressed"


class Executor(Choice):
    """Where bench jobs run: here, in worker processes, or on a Ray cluster."""

    LOCAL = "local"
    RAY = "ray"


class StopReason(Choice):
    """Why a SIIT run stopped training."""

    EARLY_STOP = "early stop"
    EPOCH_LIMIT = "epoch limit"
    TIME_LIMIT = "time limit"


class RunSource(Choice):
    """Where a stored run came from: the benchmark, `./main.py run`, or an external submission."""

    BENCH = "bench"
    RUN = "run"
    SUBMISSION = "submission"


class RocSource(Choice):
    """Where a run's ROC comes from: the circuits of its sweep, or the ranking of its scores."""

    SWEEP = "sweep"
    RANKING = "ranking"
