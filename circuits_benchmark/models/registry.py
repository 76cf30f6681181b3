"""One way to load a model of any kind by a single identifier.

Identifiers:
  `tracr:<case>`                       the tracr-compiled model of a case (e.g. `tracr:3`)
  `siit:<case>[:<run-id>]`             a SIIT-trained model of a case (default: its best run)
  `algzoo:<task>:<arch>:h<hidden>:n<len>[:s<seed>]`  an AlgZoo-style tiny model

Every loader returns a `BenchmarkModel`: the CircuitTransformer, a way to draw inputs, which output
positions a metric reads, and the ground truth where one is known. Discovery methods and
evaluation see only this type, so a new model kind needs one loader here and nothing elsewhere.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from circuits_benchmark.circuits.circuit import Circuit
from circuits_benchmark.circuits.ground_truth import stored_ablation
from circuits_benchmark.errors import BenchmarkError
from circuits_benchmark.models.transformer import CircuitTransformer

# (rng, count) -> token ids [count, pos], BOS included where the model uses one.
InputSampler = Callable[[np.random.Generator, int], torch.Tensor]


@dataclasses.dataclass
class BenchmarkModel:
    """A model with what circuit discovery needs to run on it and be scored.

    Attributes:
        model_id: the identifier it was loaded by (stable, used in result paths).
        model: the network.
        sample_tokens: draws input token ids from the model's task distribution.
        metric_positions: bool [pos], the output positions a task metric reads.
        ground_truths: ablation -> circuit (q/k/v granularity), or {} when none is known.
        defined_positions: optional (tokens -> bool [batch, pos]) of positions whose target is
            defined (a numerical program's undefined positions are don't-care); None means all
            metric positions (categorical models output "undefined" as a class of its own).
    """

    model_id: str
    model: CircuitTransformer
    sample_tokens: InputSampler
    metric_positions: torch.Tensor
    ground_truths: dict[str, Circuit]
    defined_positions: Callable[[torch.Tensor], torch.Tensor] | None = None

    @property
    def output_kind(self) -> str:
        return self.model.cfg.output_kind

    def ground_truth(self, ablation: str = "resample") -> Circuit | None:
        """Component-level ground truth for an ablation (mean shares resample's); None if unknown."""
        if not self.ground_truths:
            return None
        return self.ground_truths[stored_ablation(ablation)].canonical()

    def clean_and_corrupted(self, count: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Two independent batches of inputs: clean, and corrupted (another seed), as the reference does."""
        clean = self.sample_tokens(np.random.default_rng(seed), count)
        corrupted = self.sample_tokens(np.random.default_rng(seed + 1), count)
        return clean, corrupted


Loader = Callable[[list[str], Path], BenchmarkModel]
_LOADERS: dict[str, Loader] = {}


def register_loader(kind: str) -> Callable[[Loader], Loader]:
    """Decorator: registers the loader of identifiers `<kind>:...`."""

    def decorate(loader: Loader) -> Loader:
        _LOADERS[kind] = loader
        return loader

    return decorate


def load_benchmark_model(model_id: str, output_dir: Path = Path("results")) -> BenchmarkModel:
    """Loads any model by identifier; raises BenchmarkError for an unknown kind or a malformed id."""
    _import_loaders()
    kind, _, rest = model_id.partition(":")
    if kind not in _LOADERS:
        raise BenchmarkError(f"unknown model kind {kind!r} in {model_id!r}: use one of {', '.join(sorted(_LOADERS))}")
    return _LOADERS[kind](rest.split(":") if rest else [], output_dir)


@register_loader("tracr")
def _load_tracr(parts: list[str], output_dir: Path) -> BenchmarkModel:
    from circuits_benchmark.cases.evaluation import evaluate_program
    from circuits_benchmark.models.compiled import load_compiled_case

    if len(parts) != 1 or not parts[0].isdigit():
        raise BenchmarkError(f"malformed tracr model id 'tracr:{':'.join(parts)}': use tracr:<case id>")
    compiled = load_compiled_case(int(parts[0]), output_dir / "cache")
    case = compiled.case
    positions = torch.ones(case.max_seq_len, dtype=torch.bool)
    positions[0] = False  # BOS carries no task output

    def sample(rng: np.random.Generator, count: int) -> torch.Tensor:
        return compiled.encode(case.sample_inputs(rng, count))

    def defined(tokens: torch.Tensor) -> torch.Tensor:
        inputs = [[compiled.input_tokens[i] for i in row[1:]] for row in tokens.tolist()]
        outputs = evaluate_program(case, inputs)
        return torch.tensor([[False] + [v is not None for v in row] for row in outputs])

    return BenchmarkModel(
        model_id=f"tracr:{case.case_id}",
        model=compiled.model,
        sample_tokens=sample,
        metric_positions=positions,
        ground_truths=compiled.ground_truths,
        # Categorical models output "undefined" as a class of its own, so every position counts.
        defined_positions=None if compiled.is_categorical else defined,
    )


def _import_loaders() -> None:
    """Imports the modules that register the other model kinds (lazily: they pull in training code)."""
    import circuits_benchmark.algzoo.models  # noqa: F401 - registers "algzoo"
    import circuits_benchmark.training.siit_models  # noqa: F401 - registers "siit"
