"""Case library timings: cold compile + ground truth of all cases, warm load of all, `--help`.

Prints each figure with its target from the issue and the ratio to InterpBench's reference
(measured on this kind of machine: ~1,200 s to compile all 129 cases, 9-14 s for --help).
Run: .venv/bin/python benchmarks/case_library.py
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REFERENCE_COMPILE_ALL_S = 1200.0
REFERENCE_HELP_S = 9.0


def timed(args: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(args, check=True, cwd=ROOT, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    python = sys.executable
    with tempfile.TemporaryDirectory() as output:
        compile_all = [python, "main.py", "cases", "compile", "-o", output]
        cold = timed(compile_all)
        warm = timed(compile_all)
    help_s = min(timed([python, "main.py", "--help"]) for _ in range(3))
    print(f"compile + ground truth, all cases, cold cache: {cold:6.1f} s  (target <= 120 s; reference ~{REFERENCE_COMPILE_ALL_S:.0f} s, {REFERENCE_COMPILE_ALL_S / cold:.0f}x faster)")
    print(f"load all cases, warm cache (whole process):    {warm:6.1f} s  (target <= 5 s)")
    print(f"./main.py --help:                               {help_s:6.2f} s  (target < 1 s; reference {REFERENCE_HELP_S:.0f}-14 s, {REFERENCE_HELP_S / help_s:.0f}x faster)")


if __name__ == "__main__":
    main()
