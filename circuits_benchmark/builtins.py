"""The composition root: what the project registers with its own registries.

Model kinds (`models.registry`) and SIIT task families (`training.task_families`) register
themselves where they are defined, in the layer they belong to. A registry cannot import them (they
sit above it), so the first lookup calls `register_builtins`, which imports each defining module
once by name. This list is the one place that names them; a plug-in registers its own the same way
(`plugins`). The layer test lets any module reach this one, and only this one, upwards.
"""

from __future__ import annotations

import importlib

BUILT_IN_MODULES = (
    # model kinds
    "circuits_benchmark.compiler.tracr_models",
    "circuits_benchmark.compiler.compressed_models",
    "circuits_benchmark.models.hooked",
    "circuits_benchmark.training.siit_models",
    "circuits_benchmark.algzoo.models",
    # SIIT task families
    "circuits_benchmark.training.tracr_tasks",
    "circuits_benchmark.ioi.siit_task",
    "circuits_benchmark.hard.siit_task",
)
_registered = False


def register_builtins() -> None:
    """Imports every built-in registration once (later calls return at once)."""
    global _registered
    if _registered:
        return
    _registered = True  # first: a registering module may itself look something up
    for module in BUILT_IN_MODULES:
        importlib.import_module(module)
