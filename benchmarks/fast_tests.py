"""How long the fast test selection takes (issue 27's target: at most 3 minutes on 2 cores).

    .venv/bin/python benchmarks/fast_tests.py

Runs `pytest -n 2 -m "not slow"` on this checkout, as README's "Tests" section documents it, and
prints its wall time against the target; the exit status is pytest's.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_S = 180.0


def main() -> None:
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-n", "2", "-m", "not slow", "-p", "no:cacheprovider"], cwd=ROOT)
    seconds = time.perf_counter() - start
    print(f"fast selection: {seconds:.0f} s wall (target {TARGET_S:.0f} s: {seconds / TARGET_S:.2f} of it)")
    sys.exit(done.returncode)


if __name__ == "__main__":
    main()
