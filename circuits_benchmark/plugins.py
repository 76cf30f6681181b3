"""Plug-ins: a user's module (or .py file) that registers methods, metrics, cases or model kinds.

A plug-in is ordinary Python that calls the registries, e.g.
`circuits_benchmark.discovery.methods.register_method`, `...metric_registry.register_metric`,
`circuits_benchmark.cases.case.register_case`, `circuits_benchmark.models.registry.register_loader`.
`./main.py --plugin my_plugin.py run my-method -i 1000 --tracr` loads it before the commands are
built, so its methods get their own `run` command and its cases their ids. Loaded plug-ins are
listed in the environment variable below, so the worker processes of `bench` and `train iit
--jobs` load them too.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from pathlib import Path

from circuits_benchmark.errors import BenchmarkError

PLUGINS_VARIABLE = "CIRCUITS_BENCHMARK_PLUGINS"
_loaded: set[str] = set()


def load_plugins(specs: list[str]) -> None:
    """Imports each plug-in once: a module name (`my_package.plugin`) or a path to a .py file.
    Raises BenchmarkError naming a plug-in that cannot be found or fails to import."""
    for spec in specs:
        key = str(Path(spec).resolve()) if spec.endswith(".py") else spec
        if key in _loaded:
            continue
        try:
            _import(key)
        except BenchmarkError:
            raise
        except Exception as error:  # a user's module: whatever it raises, say which plug-in failed
            raise BenchmarkError(f"plug-in {spec!r} failed to load: {type(error).__name__}: {error}") from None
        _loaded.add(key)
    os.environ[PLUGINS_VARIABLE] = os.pathsep.join(sorted(_loaded))


def load_environment_plugins() -> None:
    """Loads the plug-ins a parent process listed in the environment (worker processes call this)."""
    listed = [spec for spec in os.environ.get(PLUGINS_VARIABLE, "").split(os.pathsep) if spec]
    load_plugins(listed)


def plugin_arguments(argv: list[str]) -> tuple[list[str], list[str]]:
    """Splits `--plugin X` / `--plugin=X` (anywhere on the command line) from the other arguments."""
    specs, rest, index = [], [], 0
    while index < len(argv):
        argument = argv[index]
        if argument == "--plugin":
            if index + 1 >= len(argv):
                raise BenchmarkError("--plugin needs a module name or a .py file")
            specs.append(argv[index + 1])
            index += 2
            continue
        if argument.startswith("--plugin="):
            specs.append(argument.split("=", 1)[1])
        else:
            rest.append(argument)
        index += 1
    return specs, rest


def _import(key: str) -> None:
    if key.endswith(".py"):
        path = Path(key)
        if not path.is_file():
            raise BenchmarkError(f"plug-in file {key} does not exist")
        spec = importlib.util.spec_from_file_location(f"circuits_benchmark_plugin_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
    else:
        try:
            importlib.import_module(key)
        except ModuleNotFoundError as error:
            if error.name and key.startswith(error.name):
                raise BenchmarkError(f"no plug-in module {key!r} (give a module name on the Python path, or a .py file)") from None
            raise
