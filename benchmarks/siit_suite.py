"""The realistic suite: train every non-trivial case on both cores, then report it.

    .venv/bin/python benchmarks/siit_suite.py --train        # train iit -i suite --jobs 2 --resume, timed
    .venv/bin/python benchmarks/siit_suite.py                # only the report, from results/ll_models

The report is one Markdown row per suite case (epochs, training seconds, held-out accuracy / IIA /
strict IIA, ground truth under resample and mean ablation: faithful, minimal), whether the case is
released, and the totals: cases, released models, summed training time, release size. Training
is resumable: rerun after a kill and finished cases are skipped. Target: the whole suite in <= 3 h
on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
TARGET_S = 3 * 3600.0
RUN_ID = "b1-iit1-s0.4-lr0.003-bs64-atol0.05-seed0"


def main() -> None:
    from circuits_benchmark.cases import suite_case_ids
    from circuits_benchmark.training.release import read_manifest

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", action="store_true", help="train the suite first (timed)")
    parser.add_argument("--max-seconds", default="180", help="training-time cap per case")
    args = parser.parse_args()
    if args.train:
        start = time.perf_counter()
        command = [sys.executable, "main.py", "train", "iit", "-i", "suite", "--jobs", "2", "--resume", "--max-seconds", args.max_seconds]
        subprocess.run(command, cwd=ROOT, check=True)
        wall = time.perf_counter() - start
        print(f"suite training wall time {wall:.0f} s (target <= {TARGET_S:.0f} s)")

    manifest = read_manifest()
    print("| case | params | epochs | train s | accuracy | IIA | strict IIA | GT resample | GT mean | released |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    trained_seconds, rows = 0.0, 0
    for case_id in suite_case_ids():
        path = ROOT / "results" / "ll_models" / f"case-{case_id:03d}" / RUN_ID / "meta.json"
        entry = manifest["models"].get(str(case_id))
        if not path.exists() and entry is None:
            print(f"| {case_id} | | | | | | | | | not trained |")
            continue
        meta = json.loads(path.read_text()) if path.exists() else entry
        metrics, checks = meta["metrics"], meta.get("ground_truth_checks", {})
        trained_seconds += meta["train_seconds"]
        rows += 1
        released = "yes" if entry else manifest["excluded"].get(str(case_id), {}).get("reason", "no")
        print(
            f"| {case_id} | {entry['parameters'] if entry else ''} | {meta['epochs']} | {meta['train_seconds']:.0f} | "
            + " | ".join(f"{100 * metrics[m]:.2f}%" for m in ("accuracy", "iia", "strict_iia"))
            + f" | {_verdict(checks.get('resample'))} | {_verdict(checks.get('mean'))} | {released} |"
        )
    print(
        f"\n{rows} of {len(suite_case_ids())} suite cases trained, {len(manifest['models'])} released "
        f"({manifest.get('total_bytes', 0) / 1e6:.1f} MB); summed training time {trained_seconds:.0f} s "
        f"({trained_seconds / 2:.0f} s on two cores)"
    )


def _verdict(check: dict | None) -> str:
    if check is None:
        return "not checked"
    return ("faithful" if check["faithful"] else "UNFAITHFUL") + ", " + ("minimal" if check["minimal"] else "NOT minimal")


if __name__ == "__main__":
    main()
