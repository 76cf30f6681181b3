"""Discovery timings and quality, side by side with InterpBench's reference numbers.

1. `./main.py run acdc -i 3 --tracr`, whole process, warm model cache: wall time and peak RSS
   (target <= 3 s and 400 MB; reference 12 s, 839 MB).
2. The full ACDC ROC sweep (19 thresholds) on case 21 (target <= 10 s; reference ~320 s).
3. EAP and EAP-IG on every case after start-up: the slowest case (target < 1 s).
4. Every method with its sweep over the original-release cases (target <= 10 min), and the
   node/edge AUROC table of the closing note.
Run: .venv/bin/python benchmarks/discovery.py [--skip-all]
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def whole_process_acdc(output: str) -> tuple[float, float]:
    """Wall time and peak RSS (MB) of the command with a warm cache; GNU time measures the RSS of
    that one process (the warm-up run, which compiles, is not counted)."""
    command = [sys.executable, "main.py", "run", "acdc", "-i", "3", "--tracr", "-o", output]
    subprocess.run(command, check=True, cwd=ROOT, capture_output=True)  # warms the model cache
    start = time.perf_counter()
    done = subprocess.run(["/usr/bin/time", "-f", "%M", *command], check=True, cwd=ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - start
    peak_kb = int(done.stderr.strip().splitlines()[-1])
    return wall, peak_kb / 1024


def main() -> None:
    import torch

    from circuits_benchmark.cases import ORIGINAL_RELEASE_IDS, all_case_ids
    from circuits_benchmark.discovery.methods import METHODS
    from circuits_benchmark.discovery.settings import MethodSettings
    from circuits_benchmark.runs import RunConfig, build_problem, run_discovery
    from circuits_benchmark.models.registry import load_benchmark_model

    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as output:
        out = Path(output)
        wall, peak = whole_process_acdc(output)
        print(f"run acdc -i 3 --tracr (whole process): {wall:.2f} s, peak RSS {peak:.0f} MB  (target 3 s / 400 MB; reference 12 s / 839 MB: {12 / wall:.1f}x faster, {839 / peak:.1f}x less memory)")

        start = time.perf_counter()
        result = run_discovery(RunConfig("acdc", "tracr:21", MethodSettings(), sweep=True), out, draw=False)
        sweep_s = time.perf_counter() - start
        print(f"ACDC sweep, case 21, {len(result.evaluation.rocs['edges'])} ROC points: {sweep_s:.2f} s  (target 10 s; reference ~320 s: {320 / sweep_s:.0f}x faster)")

        slowest = {"eap": (0.0, 0), "eap-ig": (0.0, 0)}
        for case_id in all_case_ids():
            model = load_benchmark_model(f"tracr:{case_id}", out)
            for method in slowest:
                problem = build_problem(model, RunConfig(method, f"tracr:{case_id}", MethodSettings()))
                start = time.perf_counter()
                METHODS[method].function()(problem, MethodSettings())
                elapsed = time.perf_counter() - start
                slowest[method] = max(slowest[method], (elapsed, case_id))
        for method, (elapsed, case_id) in slowest.items():
            print(f"{method} slowest case over all {len(all_case_ids())} cases: {elapsed:.3f} s (case {case_id})  (target < 1 s)")

        if "--skip-all" in sys.argv:
            return
        variants = [(name, name, MethodSettings()) for name in METHODS] + [("sp-edge", "sp", MethodSettings(edgewise=True))]
        rows, start = [], time.perf_counter()
        for case_id in ORIGINAL_RELEASE_IDS:
            row = {}
            for label, method, settings in variants:
                config = RunConfig(method, f"tracr:{case_id}", settings, sweep=True)
                evaluation = run_discovery(config, out, draw=False).evaluation
                row[label] = (evaluation.node_auroc, evaluation.edge_auroc)
            rows.append((case_id, row))
        total = time.perf_counter() - start
        labels = list(rows[0][1])
        print(f"\nall methods with sweeps over {len(ORIGINAL_RELEASE_IDS)} original-release cases: {total:.0f} s  (target 600 s)")
        print("\nAUROC (node / edge), tracr models, resample ablation, canonical granularity")
        print("| case | " + " | ".join(labels) + " |")
        print("|---|" + "---|" * len(labels))
        for case_id, row in rows:
            cells = [f"{_fmt(n)} / {_fmt(e)}" for n, e in row.values()]
            print(f"| {case_id} | " + " | ".join(cells) + " |")


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


if __name__ == "__main__":
    main()
