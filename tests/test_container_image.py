"""The image's test stage holds every path of the repository that the tests read: the Dockerfile
copies it and .dockerignore keeps it in the build context. A test that starts reading a new
top-level folder (as tests/test_plugins.py did with examples/) fails here, not only in the image.

The image itself cannot be built here (no container engine in the test run); these files are
its recipe. Inside the image the recipe is absent (.dockerignore leaves docker/ out), so the test
skips there.
"""

from __future__ import annotations

import ast
import fnmatch
import shlex
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TESTS = ROOT / "tests"
DOCKERFILE = ROOT / "docker" / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
# Paths the tests name without reading them from the image: the developer's virtual environment
# (test_cli skips without it) and the default results folder (test_api checks nothing lands there).
# So are this test's own inputs, the recipe, which it skips without.
NOT_READ = {
    ".venv": "test_cli skips its check without it",
    "results": "test_api asserts it stays empty",
    "docker": "the recipe this test reads",
    ".dockerignore": "the recipe this test reads",
}

pytestmark = pytest.mark.skipif(not DOCKERFILE.exists(), reason="the image's recipe (docker/) is not in this tree: inside the image")


def referenced_paths() -> set[str]:
    """Repository paths (relative to its root) that the tests name: every string constant in
    tests/*.py whose first part names an entry of the repository root or of tests/."""
    entries = {base: {path.name for path in base.iterdir()} for base in (ROOT, TESTS)}
    found = set()
    for test_file in TESTS.glob("*.py"):
        for node in ast.walk(ast.parse(test_file.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                first = node.value.split("/")[0]
                found |= {(base / first).relative_to(ROOT).as_posix() for base, names in entries.items() if first in names}
    return found


def copied_sources(dockerfile: str) -> list[str]:
    """The build-context paths of the Dockerfile's COPY lines (not those copied from a stage)."""
    sources = []
    for line in dockerfile.splitlines():
        if not line.startswith("COPY "):
            continue
        words = shlex.split(line, comments=True)
        if not any(word.startswith("--from") for word in words):
            sources += [word.rstrip("/") for word in words[1:-1] if not word.startswith("--")]
    return sources


def ignored(path: str, patterns: list[str]) -> bool:
    """Whether .dockerignore's patterns leave `path` (or a folder above it) out of the context;
    the last pattern that matches decides, `!` patterns keeping what earlier ones left out."""
    parts = path.split("/")
    candidates = ["/".join(parts[: k + 1]) for k in range(len(parts))]
    verdict = False
    for pattern in patterns:
        keep = pattern.startswith("!")
        body = pattern.lstrip("!").strip("/")
        forms = {body, body.removeprefix("**/")}
        if any(fnmatch.fnmatchcase(candidate, form) for candidate in candidates for form in forms):
            verdict = not keep
    return verdict


def test_every_path_the_tests_read_is_copied_into_the_image() -> None:
    paths = referenced_paths() - set(NOT_READ)
    assert {"examples", "tests/data", "main.py", "README.md"} <= paths  # what the scan must find
    sources = copied_sources(DOCKERFILE.read_text())
    patterns = [line.strip() for line in DOCKERIGNORE.read_text().splitlines() if line.strip() and not line.startswith("#")]
    not_copied = sorted(p for p in paths if not any(p == s or p.startswith(f"{s}/") for s in sources))
    left_out = sorted(p for p in paths if ignored(p, patterns))
    assert not not_copied, f"the tests read {not_copied}: add them to a COPY line of {DOCKERFILE.relative_to(ROOT)}"
    assert not left_out, f"the tests read {left_out}, which .dockerignore leaves out of the build context"


def test_the_checks_see_a_missing_copy_and_an_ignored_path() -> None:
    """The two rules on the Dockerfile and .dockerignore as they were when examples/ was missed."""
    before = DOCKERFILE.read_text().replace("COPY examples ./examples\n", "")
    assert "examples" in copied_sources(DOCKERFILE.read_text()) and "examples" not in copied_sources(before)
    assert ignored("docker/Dockerfile", ["docker"]) and ignored("a/__pycache__/x.pyc", ["**/__pycache__"])
    assert ignored("__pycache__", ["**/__pycache__"]) and not ignored("examples/user_plugin.py", ["docker", "results"])
    assert not ignored("results/keep", ["results", "!results/keep"])


def test_a_plain_build_gives_the_runtime_image() -> None:
    """`docker build` without --target builds the last stage: it must be the runtime image (with its
    smoke step), not the test stage that runs the whole suite."""
    stages = [line.split() for line in DOCKERFILE.read_text().splitlines() if line.upper().startswith("FROM ")]
    assert [stage[-1] for stage in stages][-1] == "runtime" and any(stage[-1] == "test" for stage in stages)
