"""The patched pass's cost: CPU milliseconds of one `PatchableModel.run` over the bench's 100
inputs, forward only and forward plus backward with respect to the masks, against a plain forward
pass of the same model (one thread). Masks are random in [0, 1]; `[n_edges]` masks are one circuit
(ACDC, EAP, patching), `[4, n_edges]` block masks four circuits trained together (SP, edge
pruning); ablation is resample (full-batch ablated outputs) or zero (one broadcast row).

Run: .venv/bin/python benchmarks/patched_pass.py [MODEL ...]
"""

from __future__ import annotations

import sys
import time
from typing import Callable

import torch

from circuits_benchmark.models.registry import load_benchmark_model
from circuits_benchmark.paths import DEFAULT_RESULTS_DIR
from circuits_benchmark.patching.engine import PatchableModel

MODELS = ("tracr:3", "siit:21", "siit:ioi", "siit:hard-copies3-backup-rare3-side4-p5")
ROWS = 100
BLOCKS = 4
SECONDS = 2.0


def cpu_ms(step: Callable[[], object]) -> float:
    """Mean CPU milliseconds of `step`, after one warm-up, over about SECONDS."""
    step()
    start, calls = time.process_time(), 0
    while time.process_time() - start < SECONDS:
        step()
        calls += 1
    return 1000 * (time.process_time() - start) / calls


def main() -> None:
    torch.set_num_threads(1)
    print(f"{'model':40s} {'plain':>7s} " + " ".join(f"{name:>14s}" for name in ("fwd", "fwd+bwd", "blocks fwd+bwd", "zero fwd+bwd")))
    for model_id in sys.argv[1:] or MODELS:
        model = load_benchmark_model(model_id, DEFAULT_RESULTS_DIR)
        clean, corrupted = model.clean_and_corrupted(ROWS, 42)
        patchable = PatchableModel(model.model)
        resample = patchable.ablated_outputs("resample", clean, corrupted)
        zero = patchable.ablated_outputs("zero", clean)
        generator = torch.Generator().manual_seed(0)
        single = torch.rand(patchable.n_edges, generator=generator)
        blocks = torch.rand(BLOCKS, patchable.n_edges, generator=generator)

        def forward() -> None:
            with torch.no_grad():
                patchable.run(clean, single, resample)

        def backward(masks: torch.Tensor, ablated: torch.Tensor) -> Callable[[], None]:
            def step() -> None:
                leaf = masks.clone().requires_grad_(True)
                patchable.run(clean, leaf, ablated).sum().backward()
            return step

        def plain() -> None:
            with torch.no_grad():
                model.model(clean)

        cells = [cpu_ms(plain), cpu_ms(forward), cpu_ms(backward(single, resample)), cpu_ms(backward(blocks, resample)), cpu_ms(backward(single, zero))]
        print(f"{model_id:40s} " + " ".join(f"{c:7.1f}" if i == 0 else f"{c:14.1f}" for i, c in enumerate(cells)), flush=True)
    print(f"CPU ms per pass over {ROWS} rows (one thread); blocks: [{BLOCKS}, n_edges] masks")


if __name__ == "__main__":
    main()
