"""The compile cache: keyed by program content, instant when warm, rebuilt when corrupt."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from circuits_benchmark.cases import get_case
from circuits_benchmark.cases.case import Case
from circuits_benchmark.compiler import cache as compiled_module, tracr_compiler
from circuits_benchmark.compiler.cache import load_compiled_case
from circuits_benchmark.storage.files import StorageError


def test_second_load_does_not_compile(cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = load_compiled_case(3, cache_dir)

    def fail(case: Case) -> None:
        raise AssertionError("compiled again although the cache is warm")

    monkeypatch.setattr(tracr_compiler, "compile_case", fail)
    second = load_compiled_case(3, cache_dir)
    assert second.entry_dir == first.entry_dir
    assert second.ground_truths == first.ground_truths


def _case_from_source(tmp_path: Path, name: str, body: str) -> Case:
    path = tmp_path / f"{name}.py"
    path.write_text(
        "from tracr.rasp import rasp\n\n"
        "def build():\n"
        f"    return rasp.Map(lambda t: {body}, rasp.tokens).named('out')\n"
    )
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return Case(900, "test case", (0, 1, 2), 4, True, False, module.build)


def test_changed_program_gets_new_key_and_recompiles(tmp_path: Path) -> None:
    before = _case_from_source(tmp_path, "variant_a", "t + 1")
    after = _case_from_source(tmp_path, "variant_b", "t + 2")
    assert before.source_fingerprint() != after.source_fingerprint()
    one = load_compiled_case(before, tmp_path / "cache")
    two = load_compiled_case(after, tmp_path / "cache")
    assert one.entry_dir != two.entry_dir
    tokens = one.encode([[0, 1, 2]])
    assert one.decode(one.model(tokens)) == [[1, 2, 3]]
    assert two.decode(two.model(tokens)) == [[2, 3, 4]]


@pytest.mark.parametrize("victim", ["model.safetensors", "compiled.json"])
def test_corrupt_entry_is_rebuilt(tmp_path: Path, victim: str, capsys: pytest.CaptureFixture) -> None:
    good = load_compiled_case(13, tmp_path)
    (good.entry_dir / victim).write_bytes(b"\x00garbage")
    rebuilt = load_compiled_case(13, tmp_path)
    assert "rebuilding corrupt cache entry" in capsys.readouterr().err
    tokens = good.encode([[0, 1, 2, 2, 1, 0, 0, 1, 2]])
    assert rebuilt.decode(rebuilt.model(tokens)) == good.decode(good.model(tokens))


def test_unwritable_cache_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    with pytest.raises(StorageError, match="a-file"):
        load_compiled_case(3, blocker / "cache")


def test_cache_key_includes_compiler_version(monkeypatch: pytest.MonkeyPatch, cache_dir: Path) -> None:
    first = load_compiled_case(get_case(3), cache_dir)
    monkeypatch.setattr(compiled_module, "COMPILER_VERSION", "test-bump")
    assert load_compiled_case(get_case(3), cache_dir).entry_dir != first.entry_dir
