"""README's Python examples, run as written (in a fresh process whose results go to a temporary folder)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def readme_python_blocks() -> list[str]:
    section = ROOT.joinpath("README.md").read_text().split("## Python API", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, flags=re.S)


@pytest.mark.parametrize("index", range(2))
def test_readme_examples_run(index: int, tmp_path: Path, cache_dir: Path) -> None:
    blocks = readme_python_blocks()
    assert len(blocks) == 2
    shutil.copytree(cache_dir, tmp_path / "cache")  # the compiled models, so nothing recompiles
    env = {**os.environ, "CIRCUITS_BENCHMARK_RESULTS": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", blocks[index]], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.splitlines()
    if index == 0:
        assert lines[2] == "1.0"  # the oracle's edge AUROC
        assert lines[3] == "[['BOS', 'a', 'x', 'b', 'x']]"
        assert lines[4].startswith("[[0.0, 0.5, 0.33") and lines[4].endswith(", 0.5]]")  # fraction of x so far
    else:
        assert lines[0].startswith("mean-abs ")
    assert (tmp_path / "results.sqlite").exists() and not (ROOT / "results" / "my-method").exists()


def test_the_tokenizer_refuses_bad_input(cache_dir: Path) -> None:
    from circuits_benchmark.errors import BenchmarkError
    from circuits_benchmark.compiler.cache import load_compiled_case

    tokenizer = load_compiled_case(3, cache_dir).tokenizer
    for bad, message in [
        (["BOS", "a", "x"], "holds BOS: give only vocabulary tokens"),
        (["a", "PAD"], "holds PAD"),
        (["a", "q"], "token 'q' is not in the vocabulary"),
        (["a"] * 5, "has 5 tokens: this model reads 1 to 4"),
    ]:
        with pytest.raises(BenchmarkError, match=re.escape(message)):
            tokenizer.to_tokens(bad)
    with pytest.raises(BenchmarkError, match="share one length"):
        tokenizer.encode([["a"], ["a", "b"]])
    assert tokenizer.to_tokens(["x"]).tolist() == tokenizer.encode([["x"]]).tolist()
