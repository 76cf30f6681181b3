"""`eval layers` on the original-release models: seconds per model (target 60 s on 2 cores) and
how often layer corruption agrees with the known circuit, compiled versus trained.

    .venv/bin/python benchmarks/layer_corruption.py
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import torch

from circuits_benchmark.cases import ORIGINAL_RELEASE_IDS
from circuits_benchmark.evaluation.layer_corruption import corrupt_layers
from circuits_benchmark.models.registry import load_benchmark_model
from circuits_benchmark.patching.output_change import PatchingBatch
from circuits_benchmark.training.release import released_case_ids


def main() -> None:
    torch.set_num_threads(1)
    released = set(released_case_ids())
    with tempfile.TemporaryDirectory() as folder:
        for kind in ("tracr", "siit"):
            agree = total = 0
            slowest = 0.0
            for case_id in ORIGINAL_RELEASE_IDS:
                if kind == "siit" and case_id not in released:
                    continue
                model = load_benchmark_model(f"{kind}:{case_id}" + (":release" if kind == "siit" else ""), Path(folder))
                start = time.perf_counter()
                results = corrupt_layers(PatchingBatch.sample(model, 500, 0), model.ground_truth("resample"))
                slowest = max(slowest, time.perf_counter() - start)
                agree += sum(r.agrees for r in results)
                total += len(results)
            print(f"{kind}: {agree} of {total} corruptions agree with the circuit ({100 * agree / total:.0f}%); "
                  f"slowest model {slowest:.2f} s (target 60 s)")


if __name__ == "__main__":
    main()
