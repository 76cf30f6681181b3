"""Trained masks, one at a time against all at once: subnetwork probing (nodes and edges) and edge
pruning, every sweep point and seed of a bench group, trained one run after another and as one
tensor program (`discovery.gate_training`), on the same problems.

Prints per model and variant the CPU time of both (one thread; CPU seconds, so that other work on
a shared machine does not skew them), and how far they part, point for point: the largest
edge-AUROC difference and the share of points with the same circuit, beside the seed spread (the
mean over points of the AUROC's standard deviation across seeds) that the leaderboard's intervals
hold. Both ways draw the same noise per run, so they part only by float rounding in the batched
products. Run: .venv/bin/python benchmarks/trained_masks.py [MODEL ...]   (default: tracr:3 siit:21)
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import torch

from circuits_benchmark.bench import BenchRequest, plan_jobs
from circuits_benchmark.paths import DEFAULT_RESULTS_DIR
from circuits_benchmark.runs import compute_runs

VARIANTS = ("sp", "sp-edge", "edge-pruning")


def group_configs(model_id: str, label: str, models_dir: Path) -> list:
    """The configs of a bench group: every sweep point and seed of `label` on `model_id`."""
    return [job.config for job in plan_jobs(BenchRequest(model_ids=[model_id], labels=[label]), models_dir)]


def compare(model_id: str, label: str, models_dir: Path) -> str:
    configs = group_configs(model_id, label, models_dir)
    start = time.process_time()
    alone = [compute_runs([config], models_dir)[0][1] for config in configs]
    alone_s = time.process_time() - start
    start = time.process_time()
    together = [result for _, result in compute_runs(configs, models_dir)]
    together_s = time.process_time() - start
    gaps, same = [], 0
    for a, b in zip(alone, together):
        if a.evaluation is not None:
            gaps.append(abs(a.evaluation.aurocs["edges"] - b.evaluation.aurocs["edges"]))
        same += set(a.circuit.graph.edges) == set(b.circuit.graph.edges)
    spread = []
    for point in {str(c.settings) for c in configs}:
        values = [r.evaluation.aurocs["edges"] for c, r in zip(configs, alone) if str(c.settings) == point and r.evaluation]
        if len(values) > 1:
            spread.append(statistics.stdev(values))
    return (
        f"{model_id:18s} {label:13s} {len(configs):3d} runs  alone {alone_s:7.1f} s  together {together_s:7.1f} s  "
        f"({alone_s / together_s:4.1f}x)  max |dAUROC| {max(gaps, default=0):.4f}  same circuit {same}/{len(configs)}  "
        f"seed spread {statistics.mean(spread) if spread else float('nan'):.4f}"
    )


def main() -> None:
    torch.set_num_threads(1)
    models = sys.argv[1:] or ["tracr:3", "siit:21"]
    for model_id in models:
        for label in VARIANTS:
            print(compare(model_id, label, DEFAULT_RESULTS_DIR), flush=True)


if __name__ == "__main__":
    main()
