"""`./main.py bench` timing: the README's first command, the quick suite (2 models of every family,
every method with its sweep and 3 seeds), from an empty output folder (compilation included).

Prints the wall time and the peak RSS of the largest process (the bench or one of its workers)
against the targets (<= 600 s, <= 1 GB), then the ranking it printed. InterpBench has no
whole-benchmark command; its single runs take 12-15 s and 840-900 MB each (measured on this kind of
machine), so the per-run time is printed beside it.
Run: .venv/bin/python benchmarks/bench.py [--full] [--output-dir DIR]   (default: a temporary folder;
--full: `bench --suite full`, every case of every family, target <= 3,600 s)
"""

from __future__ import annotations

import argparse
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_S, TARGET_MB = 600.0, 1024.0
FULL_TARGET_S = 3600.0
REFERENCE_RUN_S = 12.0


def timed_bench(output_dir: Path, extra: list[str]) -> tuple[float, float, str]:
    """Wall seconds, peak RSS in MB and stdout of one `./main.py bench` process."""
    command = [sys.executable, "main.py", "bench", "-o", str(output_dir), *extra]
    start = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"bench failed ({done.returncode}): {done.stderr[-2000:]}")
    # ru_maxrss of the children is the largest descendant's peak (the bench or a worker), in KiB on Linux.
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return wall, peak_mb, done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output-dir", type=Path, help="keep the results here (must not hold a previous bench)")
    parser.add_argument("--full", action="store_true", help="--suite full: every case of every family")
    args = parser.parse_args()
    extra, target_s, what = [], TARGET_S, "the quick suite (the README's first command)"
    if args.full:
        extra, target_s, what = ["--suite", "full"], FULL_TARGET_S, "the full suite"
    with tempfile.TemporaryDirectory() as scratch:
        output_dir = args.output_dir or Path(scratch)
        wall, peak_mb, stdout = timed_bench(output_dir, extra)
        db = sqlite3.connect(output_dir / "results.sqlite")
        runs = db.execute("SELECT COUNT(*) FROM runs").fetchone()[0]
        models = db.execute("SELECT model_kind, COUNT(DISTINCT model_id) FROM runs GROUP BY model_kind").fetchall()
    print(f"./main.py bench, {what}, every method and sweep: {runs} runs on " + ", ".join(f"{n} {k}" for k, n in models) + " models")
    print(f"wall time {wall:6.1f} s  (target <= {target_s:.0f} s)   {wall / runs:.2f} s per run (InterpBench: ~{REFERENCE_RUN_S:.0f} s per run, one process each)")
    print(f"peak RSS  {peak_mb:6.0f} MB (target <= {TARGET_MB:.0f} MB; InterpBench: 840-900 MB per run)")
    print(stdout[stdout.find("Compiled") :].strip())


if __name__ == "__main__":
    main()
