"""The knobs of every method in one place, with the defaults users of InterpBench know."""

from __future__ import annotations

import dataclasses

# Threshold grids for ROC sweeps: log-spaced, wide enough to go from the full graph to nothing.
ACDC_SWEEP = tuple(round(10 ** (-k / 4), 8) for k in range(19))  # 1 down to 3.2e-5
SP_SWEEP = (0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0)


def _setting(default: float | int | bool, help: str) -> dataclasses.Field:
    return dataclasses.field(default=default, metadata={"help": help})


@dataclasses.dataclass(frozen=True)
class MethodSettings:
    """Settings shared by all methods; each method reads the ones it needs (see each field's
    help, which the CLI shows for its flag)."""

    threshold: float = _setting(0.025, "ACDC's tau; for score methods, the score cut of the reported circuit.")
    lambda_reg: float = _setting(1.0, "Subnetwork probing's sparsity weight.")
    edgewise: bool = _setting(False, "Subnetwork probing on edges instead of nodes.")
    integrated_grad_steps: int = _setting(0, "EAP-IG interpolation steps (0 = plain EAP).")
    epochs: int = _setting(200, "Subnetwork probing's training epochs.")
    learning_rate: float = _setting(0.1, "Subnetwork probing's learning rate.")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def setting_help(name: str) -> str:
    """The help text of a MethodSettings field (the CLI's flag help)."""
    return next(f.metadata["help"] for f in dataclasses.fields(MethodSettings) if f.name == name)


DEFAULT_SETTINGS = MethodSettings()
