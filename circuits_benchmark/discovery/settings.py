"""The knobs of every method in one place, with the defaults users of InterpBench know."""

from __future__ import annotations

import dataclasses
import math

from circuits_benchmark.errors import BenchmarkError

# Threshold grids for ROC sweeps: log-spaced, wide enough to go from the full graph to nothing.
ACDC_SWEEP = tuple(round(10 ** (-k / 4), 8) for k in range(19))  # 1 down to 3.2e-5
SP_SWEEP = (0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0)
# Edge pruning's target sparsities (share of edges removed), from nearly everything kept to nearly nothing.
EDGE_PRUNING_SWEEP = (0.3, 0.5, 0.7, 0.8, 0.9, 0.95, 0.98)


def _setting(default: float | int | bool | None, help: str) -> dataclasses.Field:
    return dataclasses.field(default=default, metadata={"help": help})


@dataclasses.dataclass(frozen=True)
class MethodSettings:
    """Settings shared by all methods; each method reads the ones it needs (see each field's
    help, which the CLI shows for its flag)."""

    threshold: float = _setting(0.025, "ACDC's tau; for score methods, the score cut of the reported circuit.")
    lambda_reg: float = _setting(1.0, "Subnetwork probing's sparsity weight.")
    edgewise: bool = _setting(False, "Subnetwork probing on edges instead of nodes.")
    integrated_grad_steps: int = _setting(0, "EAP-IG interpolation steps (default: plain EAP for eap, 5 for eap-ig).")
    epochs: int = _setting(200, "Subnetwork probing's training epochs.")
    learning_rate: float = _setting(0.1, "Subnetwork probing's and edge pruning's learning rate.")
    sparsity: float = _setting(0.9, "Edge pruning's target sparsity (share of edges removed).")
    samples: int = _setting(16, "Uniform gradient sampling's number of random masks.")
    budget: int | None = _setting(
        None, "Cap in forward-pass equivalents: ACDC stops and keeps the edges left, patching leaves the rest "
        "unscored, EAP-IG/UGS take fewer steps, trained masks fewer epochs, sweeps fewer points.",
    )

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def validate(self) -> None:
        """Raises BenchmarkError naming the first value out of range (and the flag that sets it)."""
        checks = [
            (math.isfinite(self.threshold), f"--threshold must be a finite number, not {self.threshold}"),
            (math.isfinite(self.lambda_reg) and self.lambda_reg >= 0, f"--lambda-reg must be a finite number >= 0, not {self.lambda_reg}"),
            (self.integrated_grad_steps >= 0, f"--integrated-grad-steps must be at least 0 (0: the method's default), not {self.integrated_grad_steps}"),
            (self.epochs >= 1, f"--epochs must be at least 1, not {self.epochs}"),
            (math.isfinite(self.learning_rate) and self.learning_rate > 0, f"the learning rate must be a finite number > 0, not {self.learning_rate}"),
            (math.isfinite(self.sparsity) and 0 <= self.sparsity < 1, f"--sparsity must be a number in [0, 1), not {self.sparsity}"),
            (self.samples >= 1, f"--samples must be at least 1, not {self.samples}"),
            (self.budget is None or self.budget >= 1, f"--budget must be at least 1, not {self.budget}"),
        ]
        for valid, message in checks:
            if not valid:
                raise BenchmarkError(message)


def setting_help(name: str) -> str:
    """The help text of a MethodSettings field (the CLI's flag help)."""
    return next(f.metadata["help"] for f in dataclasses.fields(MethodSettings) if f.name == name)


DEFAULT_SETTINGS = MethodSettings()
