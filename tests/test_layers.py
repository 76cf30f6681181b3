"""The layer contract: data flows one way, case -> model + ground truth -> method -> scores ->
evaluation -> store -> report, so no module imports one of a higher layer.

Imports count wherever they are written (inside functions too), and so do the lazy imports that
registries write as strings: a module path (`"circuits_benchmark.ioi.siit_task"`) or a
"module:function" resolved against a package named in the same module. The one module every layer
may reach upwards is the composition root, `circuits_benchmark.builtins`, which only imports
registrations (see its docstring).
"""

from __future__ import annotations

import ast
import re

from test_import_graph import PACKAGE, module_name

# Lowest first. A module belongs to the first entry whose prefix names it or a package above it.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("foundation", ("errors", "choices", "paths", "formatting", "lazy_import", "versions", "storage", "workers", "plugins")),
    ("cases and circuits", ("cases", "circuits")),
    ("models and patching", ("models", "patching")),
    ("compiler", ("compiler",)),
    ("discovery and scoring", ("discovery", "evaluation")),
    ("training", ("training", "algzoo")),
    ("task families", ("ioi.siit_task", "ioi.high_level", "ioi.sentences", "ioi.task_model", "ioi", "hard")),
    ("runs", ("runs", "bench")),
    ("analyses and reports", ("analyses", "ioi.evaluation", "leaderboard")),
    ("interfaces", ("api", "cli")),
]
ROOT = "circuits_benchmark.builtins"
_MODULE_STRING = re.compile(r"^circuits_benchmark(\.\w+)+(:\w+)?$")
_RELATIVE_STRING = re.compile(r"^\w+(\.\w+)*:\w+$")


def layer_of(module: str) -> int:
    """The index of a module's layer in LAYERS; raises KeyError for a module no entry names."""
    name = module.removeprefix("circuits_benchmark.")
    matches = [
        (len(prefix), index)
        for index, (_, prefixes) in enumerate(LAYERS)
        for prefix in prefixes
        if name == prefix or name.startswith(prefix + ".")
    ]
    if not matches:
        raise KeyError(f"{module} is in no layer: add it to LAYERS")
    return max(matches)[1]  # the longest prefix decides (ioi.evaluation sits above ioi)


def imports_in(source: str, modules: set[str]) -> set[str]:
    """The package modules a source text imports, by statement or by a lazy string."""
    found: set[str] = set()
    tree = ast.parse(source)
    strings = [node.value for node in ast.walk(tree) if isinstance(node, ast.Constant) and isinstance(node.value, str)]
    packages = [text for text in strings if text in modules]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found |= {f"{node.module}.{alias.name}" if f"{node.module}.{alias.name}" in modules else node.module for alias in node.names}
    for text in strings:
        if _MODULE_STRING.match(text):
            found.add(text.split(":")[0])
        elif _RELATIVE_STRING.match(text):
            found |= {f"{package}.{text.split(':')[0]}" for package in packages}
    return {module for module in found if module in modules}


def upward_imports(sources: dict[str, str]) -> list[str]:
    """Every import of a higher layer (but the composition root's), as `importer -> imported`."""
    modules = set(sources)
    return sorted(
        f"{module} -> {target}"
        for module, source in sources.items()
        for target in imports_in(source, modules)
        if target != ROOT and module != ROOT and layer_of(target) > layer_of(module)
    )


def package_sources() -> dict[str, str]:
    return {module_name(path): path.read_text() for path in PACKAGE.rglob("*.py")}


def test_every_module_has_a_layer() -> None:
    unplaced = []
    for module in package_sources():
        if module not in ("circuits_benchmark", ROOT):
            try:
                layer_of(module)
            except KeyError:
                unplaced.append(module)
    assert unplaced == []


def test_no_module_imports_a_higher_layer() -> None:
    sources = package_sources()
    assert len(sources) > 100 and imports_in(sources["circuits_benchmark.runs"], set(sources))  # the sources were read
    assert upward_imports(sources) == []


def test_a_planted_upward_import_is_found() -> None:
    sources = package_sources()
    engine = "circuits_benchmark.patching.engine"
    planted = {**sources, engine: sources[engine] + "\n\ndef _planted():\n    from circuits_benchmark.training import trainer\n"}
    assert upward_imports(planted) == [f"{engine} -> circuits_benchmark.training.trainer"]
    lazy = {**sources, engine: sources[engine] + '\n_PLANTED = "circuits_benchmark.runs:run_discovery"\n'}
    assert upward_imports(lazy) == [f"{engine} -> circuits_benchmark.runs"]
    relative = {**sources, engine: sources[engine] + '\n_PACKAGE = "circuits_benchmark.analyses"\n_PLANTED = "probing:probe"\n'}
    assert upward_imports(relative) == [f"{engine} -> circuits_benchmark.analyses", f"{engine} -> circuits_benchmark.analyses.probing"]
