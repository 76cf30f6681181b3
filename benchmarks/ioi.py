"""The IOI model: training time to the bar on this machine, and every method's AUROC on it.

1. `./main.py train ioi --threads 2` from nothing (or, with --trained DIR, the run already under DIR),
   printing the training seconds, epochs, held-out accuracy / IIA / strict IIA (target: 99% each)
   and the ground-truth checks (faithful and minimal under resample and mean ablation);
2. `./main.py bench -i ioi --models siit` on that model: every method with its sweep (stochastic
   ones over --seeds seeds), then each method's edge and node AUROC from the store.

Run: .venv/bin/python benchmarks/ioi.py [--trained DIR] [--seeds 3] [--jobs 2]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TARGET = 0.99


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trained", type=Path, help="An output folder holding a finished IOI run: skip training.")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=2)
    arguments = parser.parse_args()
    output_dir = arguments.trained or Path(tempfile.mkdtemp(prefix="ioi-bench-"))
    if arguments.trained is None:
        start = time.perf_counter()
        subprocess.run([sys.executable, "main.py", "train", "ioi", "--threads", "2", "-o", str(output_dir)], check=True, cwd=ROOT)
        print(f"train ioi: {time.perf_counter() - start:.0f} s wall")
    meta = json.loads(next((output_dir / "ll_models" / "ioi").glob("*/meta.json")).read_text())
    metrics = meta["metrics"]
    print(
        f"{meta['model_id']}: {meta['train_seconds']:.0f} s of training, {meta['epochs']} epochs, {meta['steps']} steps; "
        + ", ".join(f"{name} {100 * value:.2f}%" for name, value in metrics.items())
        + f" (target {100 * TARGET:.0f}%: {'met' if min(metrics.values()) >= TARGET else 'MISSED'})"
    )
    for ablation, check in meta["ground_truth_checks"].items():
        print(f"  ground truth, {ablation}: faithful {check['faithful']} ({100 * check['changed_fraction']:.2f}% changed), minimal {check['minimal']}")

    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "main.py", "bench", "-i", "ioi", "--models", "siit", "--seeds", str(arguments.seeds),
         "--jobs", str(arguments.jobs), "-o", str(output_dir)],
        check=True, cwd=ROOT, capture_output=True,
    )
    print(f"bench -i ioi: {time.perf_counter() - start:.0f} s wall")
    print_aurocs(output_dir)


def print_aurocs(output_dir: Path) -> None:
    """Each method's edge and node AUROC, CPR and cost on the IOI model (seeds combined), as the
    leaderboard computes them from the store."""
    from circuits_benchmark.leaderboard.summary import combine_seeds, series_results
    from circuits_benchmark.storage.results_db import ResultsStore

    with ResultsStore(output_dir) as store:
        runs = [r for r in store.runs() if r.model_id.startswith("siit:ioi")]
    results = combine_seeds(series_results(runs)[0])
    print(f"{'method':<14} {'edge AUROC':>10} {'node AUROC':>10} {'CPR':>6} {'seconds':>8} {'seeds':>5}")
    number = lambda value: "n/a" if value is None else f"{value:.3f}"  # noqa: E731
    for result in sorted(results, key=lambda r: -(r.edge_auroc or 0)):
        print(
            f"{result.label:<14} {number(result.edge_auroc):>10} {number(result.node_auroc):>10} "
            f"{number(result.cpr):>6} {result.wall_time_s:>8.1f} {result.seeds:>5}"
        )


if __name__ == "__main__":
    main()
