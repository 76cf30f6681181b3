"""Probing, attention roles and layer corruption on the original-release models, scored against
their known computations: how often each analysis finds the truth, compiled versus trained, and
the seconds `./main.py report` (all three analyses and the page) takes per model (target 60 s
on 2 cores).

    .venv/bin/python benchmarks/model_analyses.py [--per-model]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import torch

from circuits_benchmark.cases import ORIGINAL_RELEASE_IDS
from circuits_benchmark.analyses.eval_files import eval_dir
from circuits_benchmark.analyses.model_report import write_model_report
from circuits_benchmark.models.model_id import ModelId
from circuits_benchmark.training.release import released_case_ids

TARGET_S = 60.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-model", action="store_true", help="print every model's figures too")
    arguments = parser.parse_args()
    torch.set_num_threads(2)
    released = set(released_case_ids())
    families = {
        "compiled (tracr)": [ModelId.tracr(c) for c in ORIGINAL_RELEASE_IDS],
        "trained (SIIT release)": [ModelId.siit(c, "release") for c in ORIGINAL_RELEASE_IDS if c in released],
    }
    print(f"{'models':<24}{'n':>3}  {'probe: location':>16}  {'probe: writer':>14}  {'attention roles':>16}  "
          f"{'layer corruption':>17}  {'slowest report':>15}")
    with tempfile.TemporaryDirectory() as folder:
        output_dir = Path(folder)
        for family, model_ids in families.items():
            counts = {"location": [0, 0], "writer": [0, 0], "heads": [0, 0], "layers": [0, 0]}
            slowest = 0.0
            for model_id in model_ids:
                start = time.perf_counter()
                write_model_report(str(model_id), output_dir)
                seconds = time.perf_counter() - start
                slowest = max(slowest, seconds)
                found = _tally(output_dir, str(model_id), counts)
                if arguments.per_model:
                    print(f"  {model_id}: {seconds:.1f} s; " + ", ".join(f"{k} {r}/{n}" for k, (r, n) in found.items()))
            shares = {k: f"{r}/{n} ({100 * r / n:.0f}%)" if n else "n/a" for k, (r, n) in counts.items()}
            print(f"{family:<24}{len(model_ids):>3}  {shares['location']:>16}  {shares['writer']:>14}  {shares['heads']:>16}  "
                  f"{shares['layers']:>17}  {slowest:>11.1f} s  (target {TARGET_S:.0f} s)")


def _tally(output_dir: Path, model_id: str, counts: dict[str, list[int]]) -> dict[str, tuple[int, int]]:
    """Adds one model's right answers and questions to `counts`; returns the model's own."""
    def read(kind: str) -> dict:
        return json.loads((eval_dir(output_dir, kind, model_id) / "result.json").read_text())

    variables = read("probe")["variables"]
    heads = [h for h in read("attention")["heads"] if h["right"] is not None]
    corruptions = [c for c in read("layers")["corruptions"] if c["agrees"] is not None]
    found = {
        "location": (sum(v["location_right"] for v in variables), len(variables)),
        "writer": (sum(v["writer_right"] for v in variables), len(variables)),
        "heads": (sum(h["right"] for h in heads), len(heads)),
        "layers": (sum(c["agrees"] for c in corruptions), len(corruptions)),
    }
    for key, (right, total) in found.items():
        counts[key][0] += right
        counts[key][1] += total
    return found


if __name__ == "__main__":
    main()
