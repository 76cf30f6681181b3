"""Judges every shipped SIIT model again on inputs it never trained on, and records the result.

    .venv/bin/python scripts/recheck_release.py [OUTPUT_DIR]

Each model's ground-truth checks (resample and mean ablation) are measured on held-out inputs and
written to its meta.json and the release manifest; a model that no longer clears its bar is moved
to the manifest's excluded list with the reason (`training.release.recheck_release`). OUTPUT_DIR
(default: the project's results folder) holds the compile cache.
"""

from __future__ import annotations

import sys
from pathlib import Path

from circuits_benchmark.paths import DEFAULT_RESULTS_DIR
from circuits_benchmark.training.release import read_manifest, recheck_release


def main() -> None:
    output_dir = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_RESULTS_DIR
    moved = recheck_release(output_dir)
    print(f"{len(read_manifest()['models'])} models released; moved to excluded: {', '.join(moved) or 'none'}")


if __name__ == "__main__":
    main()
