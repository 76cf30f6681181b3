"""The hard family's nodes outside the circuit: are they still inert?

For every released hard model (or those of --tasks), each head and MLP outside its ground truth is
ablated alone (resample, on 500 benchmark inputs, `hard.outside_effects`): the share of output
positions that change (the task's answers and the side outputs), and the share of the task's
answers. Prints one row per model (its outside nodes' median and the largest share of answers any
of them changes), then the family: the pooled median over every outside node, the median of the
per-model medians and the share of nodes at or above 5%, against issue 25's bar (>= 5%) and the
natural models' median (14%).

Run: .venv/bin/python benchmarks/hard_family.py [--tasks hard-side4-p4,...] [--models-dir results]
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from circuits_benchmark.hard import catalogue  # noqa: E402
from circuits_benchmark.hard.outside_effects import ACTIVE_BAR, NATURAL_MEDIAN, outside_node_effects  # noqa: E402
from circuits_benchmark.hard.siit_task import HARD_RELEASE_DIR  # noqa: E402
from circuits_benchmark.training.release import read_manifest  # noqa: E402
from circuits_benchmark.training.siit_models import load_run  # noqa: E402
from circuits_benchmark.training.task_families import task_family  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", default="", help="comma-separated hard tasks (default: the release's)")
    parser.add_argument("--models-dir", type=Path, default=ROOT / "results", help="where local runs are (default: the release)")
    args = parser.parse_args()
    tasks = args.tasks.split(",") if args.tasks else list(read_manifest(HARD_RELEASE_DIR)["models"])
    pooled, medians = [], []
    print("| task | outside nodes | median effect (outputs) | max answers changed |")
    print("|---|---|---|---|")
    for key in tasks:
        run = load_run(args.models_dir, key)
        model = task_family(key).benchmark_model(run, args.models_dir)
        effects = outside_node_effects(model, catalogue.task_spec(key))
        shares = [effect.outputs_changed for effect in effects]
        pooled += shares
        medians.append(statistics.median(shares))
        print(f"| {key} | {len(effects)} | {medians[-1]:.1%} | {max(e.answers_changed for e in effects):.1%} |", flush=True)
    active = sum(share >= ACTIVE_BAR for share in pooled) / len(pooled)
    print(
        f"\n{len(tasks)} models, {len(pooled)} outside nodes: pooled median {statistics.median(pooled):.1%}, "
        f"median of per-model medians {statistics.median(medians):.1%}, share >= {ACTIVE_BAR:.0%}: {active:.0%} "
        f"(bar {ACTIVE_BAR:.0%}; natural models {NATURAL_MEDIAN:.0%})"
    )


if __name__ == "__main__":
    main()
