"""One way to load a model of any kind by a single identifier (see `models.model_id` for the forms).

Every loader returns a `BenchmarkModel`: the CircuitTransformer, a way to draw inputs, which output
positions a metric reads, and the ground truth where one is known. Discovery methods and
evaluation see only this type, so a new model kind needs one loader and nothing elsewhere.

The built-in kinds are named by "module:function" and imported on first use: the SIIT and AlgZoo
loaders pull in training code, and they in turn load through this registry (a SIIT model takes its
task from its `tracr:` model), so naming them keeps the import graph free of circles.
`register_loader` adds a kind from outside the package.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np
import torch

from circuits_benchmark.errors import BenchmarkError
from circuits_benchmark.lazy_import import resolve
from circuits_benchmark.models.benchmark_model import BenchmarkModel
from circuits_benchmark.models.compiled_case import CompiledCase
from circuits_benchmark.models.model_id import ModelId
from circuits_benchmark.paths import DEFAULT_RESULTS_DIR

Loader = Callable[[ModelId, Path], BenchmarkModel]
_BUILT_IN_LOADERS = {
    "tracr": "circuits_benchmark.models.registry:load_tracr_model",
    "siit": "circuits_benchmark.training.siit_models:load_siit_model",
    "algzoo": "circuits_benchmark.algzoo.models:load_zoo_benchmark_model",
    "file": "circuits_benchmark.models.hooked:load_hooked_file",
    "compressed": "circuits_benchmark.models.compressed_models:load_compressed_model",
}
_REGISTERED: dict[str, Loader] = {}


def register_loader(kind: str) -> Callable[[Loader], Loader]:
    """Decorator: registers the loader of identifiers `<kind>:...` (a new kind, or a replacement)."""

    def decorate(loader: Loader) -> Loader:
        _REGISTERED[kind] = loader
        return loader

    return decorate


def load_benchmark_model(model_id: str | ModelId, output_dir: Path = DEFAULT_RESULTS_DIR) -> BenchmarkModel:
    """Loads any model by identifier from `output_dir` (its compile cache and trained models; by
    default the project's results folder); raises BenchmarkError for an unknown kind or a malformed id."""
    parsed = model_id if isinstance(model_id, ModelId) else ModelId.parse(model_id)
    return _loader(parsed.kind, str(parsed))(parsed, output_dir)


def _loader(kind: str, text: str) -> Loader:
    if kind in _REGISTERED:
        return _REGISTERED[kind]
    if kind not in _BUILT_IN_LOADERS:
        known = sorted({*_BUILT_IN_LOADERS, *_REGISTERED})
        raise BenchmarkError(f"unknown model kind {kind!r} in {text!r}: use one of {', '.join(known)}")
    return resolve(_BUILT_IN_LOADERS[kind])


def load_tracr_model(model_id: ModelId, output_dir: Path) -> BenchmarkModel:
    """`tracr:<case>`: the compiled model of a case, with its ground truths."""
    from circuits_benchmark.models.compiled import load_compiled_case

    return compiled_benchmark_model(load_compiled_case(model_id.case_id, output_dir / "cache"))


def compiled_benchmark_model(compiled: CompiledCase) -> BenchmarkModel:
    """A compiled case as a benchmark model: its inputs, metric positions and ground truths (the
    compressed models keep all of it but the network)."""
    from circuits_benchmark.cases.program_outputs import evaluate_program

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
        model_id=str(ModelId.tracr(case.case_id)),
        model=compiled.model,
        sample_tokens=sample,
        metric_positions=positions,
        ground_truths=compiled.ground_truths,
        # Categorical models output "undefined" as a class of its own, so every position counts.
        defined_positions=None if compiled.is_categorical else defined,
        dont_care_edges=compiled.dont_care,
        correspondence={node: (node,) for node in compiled.sop_of_component},
    )
