"""`eval realism` on the original-release cases that have a released SIIT model: how close SIIT
models are to naturally trained ones (behaviour loss only), and to IIT ones, beside the compiled
model; and the seconds each case takes (target for case 3: 5 minutes on 2 cores, training
included). IIT and natural models are trained once (90 s cap each) into OUTPUT_DIR and reused.

    .venv/bin/python benchmarks/realism.py [OUTPUT_DIR]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import torch

from circuits_benchmark.cases import ORIGINAL_RELEASE_IDS
from circuits_benchmark.analyses.realism import FAMILIES
from circuits_benchmark.analyses.realism_models import realism_report
from circuits_benchmark.training.release import released_case_ids

STATISTICS = ("effective_rank", "kurtosis", "dead_mlp_share", "effect_in_circuit", "effect_outside", "acdc_cpr")


def main() -> None:
    output_dir = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("/tmp/circuits-benchmark-realism")
    torch.set_num_threads(2)
    released = set(released_case_ids())
    cases = [c for c in ORIGINAL_RELEASE_IDS if c in released]
    values: dict[str, dict[str, list[float]]] = {f: {s: [] for s in STATISTICS} for f in FAMILIES}
    print(f"{'case':>5} {'seconds':>8}  " + "  ".join(f"{s:>16}" for s in STATISTICS) + "   (compiled / siit / iit / natural)")
    for case_id in cases:
        start = time.perf_counter()
        summary = realism_report(case_id, output_dir)["summary"]
        seconds = time.perf_counter() - start
        cells = []
        for statistic in STATISTICS:
            row = [summary[f][statistic] for f in FAMILIES]
            cells.append("/".join("-" if v is None else f"{v:.2f}" for v in row))
            for family, value in zip(FAMILIES, row):
                if value is not None:
                    values[family][statistic].append(value)
        print(f"{case_id:>5} {seconds:>8.1f}  " + "  ".join(f"{c:>16}" for c in cells))
    print("\nmedian over cases:")
    for family in FAMILIES:
        print(f"  {family:<9}" + "  ".join(f"{s} {np.median(v):.3f}" for s, v in values[family].items() if v))


if __name__ == "__main__":
    main()
