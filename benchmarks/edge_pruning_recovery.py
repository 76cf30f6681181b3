"""Does edge pruning recover compiled ground truths exactly, as its paper reports for tracr models?

For each original-release compiled case: edge pruning at the sparsity that keeps exactly as many
q/k/v edges as the ground truth holds, three seeds; prints whether the circuit found equals the
ground truth, and the forward-pass equivalents it spent.

    .venv/bin/python benchmarks/edge_pruning_recovery.py
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import torch

from circuits_benchmark.cases import ORIGINAL_RELEASE_IDS
from circuits_benchmark.discovery.methods import METHODS
from circuits_benchmark.discovery.settings import MethodSettings
from circuits_benchmark.models.registry import load_benchmark_model
from circuits_benchmark.runs import RunConfig, apply_method, build_problem


def main() -> None:
    torch.set_num_threads(1)
    exact = 0
    with tempfile.TemporaryDirectory() as folder:
        print("| case | ground-truth edges / all | exact (3 seeds) | passes / run |")
        print("|---|---|---|---|")
        for case_id in ORIGINAL_RELEASE_IDS:
            model = load_benchmark_model(f"tracr:{case_id}", Path(folder))
            truth = set(model.ground_truths["resample"].edges)
            hits, passes = [], []
            n_edges = build_problem(model, RunConfig("edge-pruning", model.model_id, MethodSettings())).n_edges
            settings = MethodSettings(sparsity=1 - len(truth) / n_edges)
            for seed in (42, 43, 44):
                config = RunConfig("edge-pruning", model.model_id, settings, seed=seed)
                found, cost = apply_method(build_problem(model, config), config)
                hits.append(set(found.sweep[-1][1].edges) == truth)
                passes.append(cost.forward_pass_equivalents)
            exact += all(hits)
            print(f"| {case_id} | {len(truth)} / {n_edges} | {sum(hits)}/3 | {sum(passes) / 3:,.0f} |")
    print(f"\nexact on every seed: {exact} of {len(ORIGINAL_RELEASE_IDS)} cases ({METHODS['edge-pruning'].description})")


if __name__ == "__main__":
    main()
