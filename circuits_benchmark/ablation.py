"""The ablations: what an edge carries once it is cut out of a circuit.

resample: the source's output on another (corrupted) input; zero: nothing; mean: the source's
mean output over the inputs. Members are strings (`Ablation.ZERO == "zero"`), so they are written
to result files and the store as their names.
"""

from __future__ import annotations

from circuits_benchmark.choices import Choice


class Ablation(Choice):
    RESAMPLE = "resample"
    ZERO = "zero"
    MEAN = "mean"

    @property
    def ground_truth(self) -> "Ablation":
        """Which stored ground truth holds under this ablation: zero's for zero; resample's for
        resample and mean (a mean value varies no more than a resampled one, so mean ablation
        preserves exactly what resample does)."""
        return Ablation.ZERO if self is Ablation.ZERO else Ablation.RESAMPLE
