"""Do two benches agree number for number? Compares the results stores of two output folders.

    python scripts/compare_leaderboards.py BEFORE_DIR AFTER_DIR [--rtol R] [--atol A]

Every run in both stores (matched by run key) must carry the same metrics, ROC points, circuit,
scores, faithfulness curve and evaluation; every leaderboard number (per-model AUROCs, CPR/CMD,
method summaries and pairwise statistics) must be the same. Times, hosts and library versions may
differ. Prints the count of numbers compared and each difference; exits 1 on any difference or on
runs present in one store only. Used to show that a refactoring changed no result.

By default the comparison is exact. With --rtol/--atol, two floats a, b that differ count as equal
when |a - b| <= max(rtol * max(|a|, |b|), atol) (math.isclose), for a change that only reorders
float arithmetic; the script then also reports how many floats differ at all and the largest
differences. Everything else (circuits, ranks, counts, names) must still match exactly.
"""

from __future__ import annotations

import argparse
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


def is_float_pair(a: Any, b: Any) -> bool:
    """Both values are real numbers and at least one is a float (a rounded result, not a count)."""
    numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (a, b))
    return numbers and (isinstance(a, float) or isinstance(b, float))


@dataclasses.dataclass
class Tolerance:
    """How far two floats may differ and still count as equal, and what the floats that differed
    differed by (largest absolute and relative differences)."""

    rtol: float = 0.0
    atol: float = 0.0
    floats_differing: int = 0
    others_differing: int = 0  # circuits, ranks, counts, names, lists of another length
    largest_absolute: float = 0.0
    largest_relative: float = 0.0

    def accepts(self, a: Any, b: Any) -> bool:
        """Whether unequal values a and b are equal within the tolerance (recording the difference)."""
        if not is_float_pair(a, b) or math.isnan(a) or math.isnan(b) or math.isinf(a) or math.isinf(b):
            self.others_differing += 1
            return False
        self.floats_differing += 1
        absolute = abs(a - b)
        self.largest_absolute = max(self.largest_absolute, absolute)
        self.largest_relative = max(self.largest_relative, absolute / max(abs(a), abs(b)))
        return math.isclose(a, b, rel_tol=self.rtol, abs_tol=self.atol)


def compare(name: str, before: Any, after: Any, differences: list[str], tolerance: Tolerance) -> int:
    """Compares every leaf of two structures; returns how many leaves were compared."""
    first, second = dict(leaves(before)), dict(leaves(after))
    for path in sorted(set(first) | set(second)):
        if path not in first or path not in second:
            tolerance.others_differing += 1
            differences.append(f"{name}{path}: only in {'after' if path not in first else 'before'}")
        elif not same(first[path], second[path]) and not tolerance.accepts(first[path], second[path]):
            differences.append(f"{name}{path}: {first[path]!r} -> {second[path]!r}")
    return len(first)


def read_runs(output_dir: Path) -> tuple[list[RunRecord], str]:
    with ResultsStore(output_dir) as store:
        return store.runs(), str(store.path)


def main(before_dir: Path, after_dir: Path, tolerance: Tolerance) -> int:
    before_runs, before_db = read_runs(before_dir)
    after_runs, after_db = read_runs(after_dir)
    differences: list[str] = []
    before_by_key = {run.run_key: run for run in before_runs}
    after_by_key = {run.run_key: run for run in after_runs}
    for key in sorted(set(before_by_key) ^ set(after_by_key)):
        differences.append(f"run {key}: only {'before' if key in before_by_key else 'after'}")
    compared = 0
    for key in sorted(set(before_by_key) & set(after_by_key)):
        compared += compare(f"run {key}", before_by_key[key], after_by_key[key], differences, tolerance)
    boards = build_leaderboard(before_runs, before_db), build_leaderboard(after_runs, after_db)
    compared += compare("leaderboard", boards[0].sections, boards[1].sections, differences, tolerance)
    print(f"{len(before_by_key)} runs before, {len(after_by_key)} after; {compared} values compared, {len(differences)} differ")
    if tolerance.rtol or tolerance.atol:
        print(
            f"within rtol={tolerance.rtol:g}, atol={tolerance.atol:g}: {tolerance.floats_differing} floats differ at all; "
            f"largest differences {tolerance.largest_absolute:.3g} absolute, {tolerance.largest_relative:.3g} relative; "
            f"{tolerance.others_differing} values other than floats differ (circuits, ranks, counts, list lengths)"
        )
    for line in differences[:50]:
        print("  " + line)
    return 1 if differences else 0


def parse_arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Compare the results stores of two bench output folders.")
    parser.add_argument("before_dir", type=Path)
    parser.add_argument("after_dir", type=Path)
    parser.add_argument("--rtol", type=float, default=0.0, help="relative tolerance for floats (default: exact)")
    parser.add_argument("--atol", type=float, default=0.0, help="absolute tolerance for floats (default: exact)")
    return parser.parse_args(argv)


if __name__ == "__main__":
    arguments = parse_arguments(sys.argv[1:])
    sys.exit(main(arguments.before_dir, arguments.after_dir, Tolerance(arguments.rtol, arguments.atol)))
