"""InterpBench's README, replayed: each of its command lines (tests/data/interpbench_readme_commands.json,
kept as typed there, with what CI adds stated beside each) runs here in a fresh output folder,
exits 0 and writes its result. In-process, through the entry point (conftest's `run_in_process`),
sharing the session's compile cache."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
from conftest import run_in_process

COMMANDS = json.loads((Path(__file__).parent / "data" / "interpbench_readme_commands.json").read_text())["commands"]
PROGRAM = "./main.py"
# `{one:GLOB}` in a line: the one file under the output folder matching GLOB (a result a `before` line wrote).
ONE_FILE = re.compile(r"\{one:([^}]+)\}")


def arguments(line: str, output_dir: Path, entry: dict[str, Any] | None = None) -> list[str]:
    """The arguments of a README line as run here: its substitutions made, its placeholders filled,
    its CI arguments appended, the output folder set."""
    entry = entry or {}
    for typed, used in entry.get("substitute", {}).items():
        line = line.replace(typed, used)
    line = ONE_FILE.sub(lambda match: str(_one_file(output_dir, match.group(1))), line)
    words = shlex.split(line) + shlex.split(entry.get("ci_arguments", ""))
    assert words[0] == PROGRAM, f"not a {PROGRAM} line: {line}"
    return words[1:] if "--help" in words else [*words[1:], "-o", str(output_dir)]


def _one_file(output_dir: Path, pattern: str) -> Path:
    matches = list(output_dir.glob(pattern))
    assert len(matches) == 1, f"{pattern}: {len(matches)} files under {output_dir}"
    return matches[0]


def invoke(words: list[str]) -> str:
    """Runs the CLI in this process; returns what it printed after asserting exit status 0."""
    result = run_in_process(*words)
    assert result.exit_code == 0, f"{' '.join(words)}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result.stdout


def test_the_data_file_keeps_the_readme_s_own_lines() -> None:
    """The three lines InterpBench users found failing are there as typed."""
    lines = {entry["line"] for entry in COMMANDS}
    assert {
        "./main.py run sp -i 1 --siit-weights 510 --lambda-reg 0.5",
        "./main.py run sp --interp-bench --edgewise",
        "./main.py train iit -i 3 --epochs 30 -s 0.4 -iit 1 -b 1 --early-stop",
    } <= lines
    named = {line.split()[2] for line in lines if line.split()[1] == "eval"}
    assert named == {"iit", "iit_acdc", "node_realism", "ioi", "ioi_acdc", "gt_node_realism"}


@pytest.mark.parametrize("entry", COMMANDS, ids=[entry["line"][len(PROGRAM) + 1:] for entry in COMMANDS])
def test_a_readme_line_runs_and_writes_its_result(entry: dict[str, Any], tmp_path: Path, cache_dir: Path) -> None:
    output_dir = tmp_path / "results"
    output_dir.mkdir()
    (output_dir / "cache").symlink_to(cache_dir, target_is_directory=True)
    for line in entry.get("before", []):
        invoke(arguments(line, output_dir))
    output = invoke(arguments(entry["line"], output_dir, entry))
    if "writes" in entry:
        written = list(output_dir.glob(entry["writes"]))
        assert written and all(path.stat().st_size > 0 for path in written), f"nothing matches {entry['writes']}"
    else:
        assert entry["prints"] in output
