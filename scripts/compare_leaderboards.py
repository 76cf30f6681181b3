"""Do two benches agree number for number? Compares the results stores of two output folders.

    python scripts/compare_leaderboards.py BEFORE_DIR AFTER_DIR

Every run in both stores (matched by run key) must carry the same metrics, ROC points, circuit,
scores, faithfulness curve and evaluation; every leaderboard number (per-model AUROCs, CPR/CMD,
method summaries and pairwise statistics) must be the same. Times, hosts and library versions may
differ. Prints the count of numbers compared and each difference; exits 1 on any difference or on
runs present in one store only. Used to show that a refactoring changed no result.
"""

from __future__ import annotations

import dataclasses
import math
import sys
from pathlib import Path
from typing import Any, Iterator

from circuits_benchmark.leaderboard.summary import build_leaderboard
from circuits_benchmark.storage.results_db import ResultsStore, RunRecord

# Fields that say when, where and how fast a run was made, not what it found.
CIRCUMSTANCES = {"wall_time_s", "finished_at", "host", "versions", "run_id", "seconds", "time_s", "cost_s", "cost_median_s"}


def leaves(value: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """(path, value) for every number, string or None inside nested dicts, lists and dataclasses."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        for key, item in value.items():
            if str(key) not in CIRCUMSTANCES and not str(key).endswith("_seconds"):
                yield from leaves(item, f"{path}.{key}")
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            yield from leaves(item, f"{path}[{index}]")
    else:
        yield path, value


def same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return a == b


def compare(name: str, before: Any, after: Any, differences: list[str]) -> int:
    """Compares every leaf of two structures; returns how many leaves were compared."""
    first, second = dict(leaves(before)), dict(leaves(after))
    for path in sorted(set(first) | set(second)):
        if path not in first or path not in second:
            differences.append(f"{name}{path}: only in {'after' if path not in first else 'before'}")
        elif not same(first[path], second[path]):
            differences.append(f"{name}{path}: {first[path]!r} -> {second[path]!r}")
    return len(first)


def read_runs(output_dir: Path) -> tuple[list[RunRecord], str]:
    with ResultsStore(output_dir) as store:
        return store.runs(), str(store.path)


def main(before_dir: Path, after_dir: Path) -> int:
    before_runs, before_db = read_runs(before_dir)
    after_runs, after_db = read_runs(after_dir)
    differences: list[str] = []
    before_by_key = {run.run_key: run for run in before_runs}
    after_by_key = {run.run_key: run for run in after_runs}
    for key in sorted(set(before_by_key) ^ set(after_by_key)):
        differences.append(f"run {key}: only {'before' if key in before_by_key else 'after'}")
    compared = 0
    for key in sorted(set(before_by_key) & set(after_by_key)):
        compared += compare(f"run {key}", before_by_key[key], after_by_key[key], differences)
    boards = build_leaderboard(before_runs, before_db), build_leaderboard(after_runs, after_db)
    compared += compare("leaderboard", boards[0].sections, boards[1].sections, differences)
    print(f"{len(before_by_key)} runs before, {len(after_by_key)} after; {compared} values compared, {len(differences)} differ")
    for line in differences[:50]:
        print("  " + line)
    return 1 if differences else 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: python scripts/compare_leaderboards.py BEFORE_DIR AFTER_DIR")
    sys.exit(main(Path(sys.argv[1]), Path(sys.argv[2])))
