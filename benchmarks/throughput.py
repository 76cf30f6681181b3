"""Throughput: forward-pass equivalents per second that ACDC, exact patching and subnetwork probing
achieve on one model of each family, against the physical limit, a plain batched forward pass of
the same model over the bench's 100 inputs (one thread, as the bench's workers run).

A forward-pass equivalent (FPE) is one input row run forward, a backward pass counting as two
(`patching.engine.PassCounter`). Each method runs as the bench runs it: ACDC and patching one run
at their defaults, subnetwork probing a bench group (its 7 lambdas x 3 seeds trained together),
each capped at BUDGET FPE per run so that the largest model takes seconds, not minutes; the rate of
a pass does not depend on how many passes follow. Rates are per CPU second of this process (one
thread), so that other work on a shared machine does not skew them. Target: at least 30% of the
limit on models of 10k parameters or more. Run: .venv/bin/python benchmarks/throughput.py [MODEL ...]
"""

from __future__ import annotations

import dataclasses
import sys
import time
from pathlib import Path

import torch

from circuits_benchmark.bench import BenchRequest, plan_jobs
from circuits_benchmark.models.registry import load_benchmark_model
from circuits_benchmark.paths import DEFAULT_RESULTS_DIR
from circuits_benchmark.runs import apply_methods, build_problem

MODELS = ("tracr:21", "siit:21", "compressed:21:d55", "siit:ioi", "siit:hard-redundant")
METHODS = ("acdc", "patching", "sp")
BUDGET = 3_000
ROWS = 100
TARGET = 0.30


def plain_forward_rate(model_id: str, models_dir: Path) -> float:
    """Rows per second of the unpatched model's batched forward pass on the bench's inputs."""
    model = load_benchmark_model(model_id, models_dir)
    tokens, _ = model.clean_and_corrupted(ROWS, 42)
    with torch.no_grad():
        model.model(tokens)  # warm-up
        start, passes = time.process_time(), 0
        while time.process_time() - start < 1.0:
            model.model(tokens)
            passes += 1
    return passes * ROWS / (time.process_time() - start)


def method_rate(model_id: str, label: str, models_dir: Path) -> float:
    """FPE per second of one bench group of `label` on the model, capped at BUDGET FPE per run."""
    jobs = plan_jobs(BenchRequest(model_ids=[model_id], labels=[label], n_examples=ROWS), models_dir)
    if label != "sp":  # one run at the method's default setting
        jobs = [next(job for job in jobs if job.place.reference)]
    configs = [dataclasses.replace(job.config, settings=dataclasses.replace(job.config.settings, budget=BUDGET)) for job in jobs]
    model = load_benchmark_model(model_id, models_dir)
    problems = [build_problem(model, config) for config in configs]
    start = time.process_time()
    costs = [cost for _, cost in apply_methods(problems, configs)]
    elapsed = time.process_time() - start
    return sum(cost.forward_pass_equivalents for cost in costs) / elapsed


def main() -> None:
    torch.set_num_threads(1)
    models_dir = DEFAULT_RESULTS_DIR
    print(f"{'model':22s} {'params':>8s} {'limit FPE/s':>12s} " + " ".join(f"{m + ' FPE/s (share)':>24s}" for m in METHODS))
    for model_id in sys.argv[1:] or MODELS:
        params = sum(p.numel() for p in load_benchmark_model(model_id, models_dir).model.parameters())
        limit = plain_forward_rate(model_id, models_dir)
        cells = []
        for label in METHODS:
            rate = method_rate(model_id, label, models_dir)
            flag = "" if params < 10_000 or rate >= TARGET * limit else " <"
            cells.append(f"{rate:10.0f} ({rate / limit:4.0%}){flag:2s}")
        print(f"{model_id:22s} {params:8d} {limit:12.0f} " + " ".join(f"{c:>24s}" for c in cells), flush=True)
    print(f"'<': below {TARGET:.0%} of the limit on a model of 10k parameters or more")


if __name__ == "__main__":
    main()
