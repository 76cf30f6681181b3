"""One way to load a model of any kind by a single identifier (see `models.model_id` for the forms).

Every loader returns a `BenchmarkModel`: the CircuitTransformer, a way to draw inputs, which output
positions a metric reads, and the ground truth where one is known. Discovery methods and
evaluation see only this type, so a new model kind needs one loader and nothing elsewhere.

Every loader registers itself with `register_loader` where it is defined, in the layer it
belongs to (the compiler's `tracr:` and `compressed:`, training's `siit:`, ...). The registry
never names them: the first lookup imports `circuits_benchmark.builtins`, the one module that
lists the built-in registrations (see there). A plug-in registers its own kinds the same way.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from circuits_benchmark.errors import BenchmarkError
from circuits_benchmark.builtins import register_builtins
from circuits_benchmark.models.benchmark_model import BenchmarkModel
from circuits_benchmark.models.model_id import ModelId
from circuits_benchmark.paths import DEFAULT_RESULTS_DIR

Loader = Callable[[ModelId, Path], BenchmarkModel]
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
    register_builtins()
    if kind not in _REGISTERED:
        raise BenchmarkError(f"unknown model kind {kind!r} in {text!r}: use one of {', '.join(sorted(_REGISTERED))}")
    return _REGISTERED[kind]
