"""The hard family's bench, per mechanism and per knob: what EXPERIMENTS.md "Hard family" reports.

Reads a results store written by `./main.py bench -i hard ...` (its -o folder) and prints, for the
hard section (resample ablation; seeds combined as the leaderboard combines them):

1. each method's mean q/k/v edge AUROC over the family, and per group of tasks: each mechanism
   alone, distractors alone, one mechanism among distractors, two or more among distractors;
2. the paired tests between methods (the leaderboard's: permutation test, Holm-corrected), and how
   many pairs differ at p < 0.01 (issue 25's bar: at least three among acdc, eap-ig, patching, eap
   and edge-pruning; the best method's mean at most 0.95);
3. edge AUROC against difficulty: the number of side outputs, and the number of mechanisms a
   task combines, drawn to `benchmarks/figures/hard_difficulty.png`.

Run: .venv/bin/python benchmarks/hard_report.py OUTPUT_DIR
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from circuits_benchmark.evaluation.figures import pyplot, save_png  # noqa: E402
from circuits_benchmark.hard import catalogue  # noqa: E402
from circuits_benchmark.hard.program import HardSpec  # noqa: E402
from circuits_benchmark.leaderboard.summary import combine_seeds, comparisons, series_results  # noqa: E402
from circuits_benchmark.models.model_id import ModelId  # noqa: E402
from circuits_benchmark.storage.results_db import ResultsStore  # noqa: E402

COMPARED = ("acdc", "eap-ig", "patching", "eap", "edge-pruning")
FIGURE = ROOT / "benchmarks" / "figures" / "hard_difficulty.png"


def mechanisms(spec: HardSpec) -> set[str]:
    """The task mechanisms a spec switches on (the distractor apart)."""
    found = {"redundancy": spec.copies > 1 or spec.backup, "saturation": spec.locate, "rare": spec.rare}
    return {name for name, on in found.items() if on}


def group(spec: HardSpec) -> str:
    """The task's row in the per-mechanism table."""
    found = mechanisms(spec)
    if not spec.distractor:
        return f"{next(iter(found))} alone" if len(found) == 1 else "combined, no distractor"
    if not found:
        return "distractors alone"
    return f"{next(iter(found))} among distractors" if len(found) == 1 else "2-3 mechanisms among distractors"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output_dir", type=Path)
    args = parser.parse_args()
    with ResultsStore(args.output_dir) as store:
        series, _ = series_results(store.runs())
    # Only the catalogue's tasks: a store may hold tasks a later catalogue dropped.
    hard = [
        s for s in combine_seeds(series)
        if s.section == ("hard", "resample") and s.edge_auroc is not None and str(ModelId.parse(s.model_id).case) in catalogue.TASKS
    ]
    methods = sorted({s.label for s in hard})
    auroc = {(s.label, str(ModelId.parse(s.model_id).case)): s.edge_auroc for s in hard}
    tasks = sorted({task for _, task in auroc})
    specs = {task: catalogue.task_spec(task) for task in tasks}

    def mean(method: str, chosen: list[str]) -> str:
        values = [auroc[method, t] for t in chosen if (method, t) in auroc]
        return f"{statistics.mean(values):.3f}" if values else "-"

    groups: dict[str, list[str]] = {}
    for task in tasks:
        groups.setdefault(group(specs[task]), []).append(task)
    print(f"{len(tasks)} hard models; mean q/k/v edge AUROC\n")
    print("| tasks | models | " + " | ".join(methods) + " |")
    print("|---|---|" + "---|" * len(methods))
    for name, chosen in [*sorted(groups.items()), ("all", tasks)]:
        print(f"| {name} | {len(chosen)} | " + " | ".join(mean(m, chosen) for m in methods) + " |")

    labels = [m for m in COMPARED if m in methods]
    table = comparisons(hard, labels, "edge_auroc")
    print("\n| pair | models | win rate | mean difference | p (Holm) |\n|---|---|---|---|---|")
    significant = 0
    for i, first in enumerate(labels):
        for second in labels[i + 1 :]:
            if (first, second) in table:
                c = table[first, second]
                significant += c.adjusted_p_value < 0.01
                floor = "<=" if c.at_floor else "="
                print(f"| {first} vs {second} | {c.models} | {c.win_rate:.2f} | {c.mean_difference:+.3f} | p{floor}{c.adjusted_p_value:.2g} |")
    best = max(labels, key=lambda m: statistics.mean(auroc[m, t] for t in tasks if (m, t) in auroc))
    print(f"\nbest method {best}: {mean(best, tasks)} (bar: <= 0.95); pairs at p < 0.01: {significant} (bar: >= 3)")
    draw_difficulty(methods, auroc, specs)


def draw_difficulty(methods: list[str], auroc: dict[tuple[str, str], float], specs: dict[str, HardSpec]) -> None:
    """Mean edge AUROC per method against the number of side outputs and of mechanisms combined."""
    plt = pyplot()
    figure, axes = plt.subplots(1, 2, figsize=(11.5, 4), sharey=True)
    axes_of = {
        "side outputs (distractor)": lambda spec: spec.distractor,
        "mechanisms combined (distractor counted)": lambda spec: len(mechanisms(spec)) + bool(spec.distractor),
    }
    for axis, (label, knob) in zip(axes, axes_of.items()):
        levels = sorted({knob(spec) for spec in specs.values()})
        for method in methods:
            means = [statistics.mean([auroc[method, t] for t, s in specs.items() if knob(s) == level and (method, t) in auroc] or [float("nan")]) for level in levels]
            axis.plot(levels, means, marker="o", label=method)
        axis.set_xlabel(label)
        axis.set_xticks(levels)
    axes[0].set_ylabel("mean q/k/v edge AUROC")
    axes[1].legend(fontsize=8, loc="center left", bbox_to_anchor=(1.02, 0.5))  # beside the plot: lines fill it
    figure.suptitle("Hard family: edge AUROC against difficulty")
    save_png(figure, FIGURE)
    print(f"figure: {FIGURE.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
