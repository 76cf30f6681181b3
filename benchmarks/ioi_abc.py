"""The IOI release under ABC sentences: does its ground truth hold, and do methods still find it?

For each corruption (independent: a second held-out sentence; abc: the clean sentence with S2
replaced by a third name), on --pairs held-out pairs of each of --seeds:

1. the release's ground-truth check under resample ablation (`evaluation.circuit_checks`):
   answers changed with the ground truth kept alone, and by removing each of its nodes and edges;
2. node-level exact patching: each head's and MLP's outputs replaced by its outputs on the
   corrupted sentence, and the drop in the mean logit difference logit(IO) - logit(S) at the last
   position; the weakest circuit head against the strongest other node;
3. each of --methods run on the model with the corruption (`api.run_method`, its defaults: 100
   pairs, seed 42): edge and node AUROC, CPR.

Run: .venv/bin/python benchmarks/ioi_abc.py [--pairs 500] [--seeds 0,1,2] [--methods eap,eap-ig,patching]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from circuits_benchmark import api  # noqa: E402
from circuits_benchmark.choices import Ablation  # noqa: E402
from circuits_benchmark.circuits.components import EMBED  # noqa: E402
from circuits_benchmark.evaluation.circuit_checks import ground_truth_check  # noqa: E402
from circuits_benchmark.ioi.task_model import ABC, name_ids  # noqa: E402
from circuits_benchmark.models.benchmark_model import INDEPENDENT, BenchmarkModel  # noqa: E402
from circuits_benchmark.patching.output_change import PatchingBatch  # noqa: E402

MODEL = "siit:ioi:release"


def logit_difference(logits: torch.Tensor, clean: torch.Tensor) -> float:
    """Mean logit(IO) - logit(S) at the last position; S is the name a clean sentence repeats."""
    classes = {token: index for index, token in enumerate(name_ids())}
    io, subject = [], []
    for row in clean.tolist():
        mentioned = [token for token in row if token in classes]
        subject.append(classes[next(t for t in mentioned if mentioned.count(t) == 2)])
        io.append(classes[next(t for t in mentioned if mentioned.count(t) == 1)])
    last = logits[:, -1]
    return float((last[torch.arange(len(last)), io] - last[torch.arange(len(last)), subject]).mean())


def node_patching(batch: PatchingBatch, circuit_nodes: set[str]) -> tuple[float, list[tuple[str, bool, float]]]:
    """The clean logit difference, and each node's drop in it when patched from the corrupted batch."""
    layout, ablated = batch.layout, batch.ablated(Ablation.RESAMPLE)
    clean_difference = logit_difference(batch.reference, batch.clean)
    drops = []
    with torch.no_grad():
        for node in layout.sources:
            if node != EMBED:
                patched = batch.patchable.run(batch.clean, batch.cut_nodes_mask({node}), ablated)
                drops.append((node, node in circuit_nodes, clean_difference - logit_difference(patched, batch.clean)))
    return clean_difference, drops


def report_checks(model: BenchmarkModel, circuit_nodes: set[str], corruption: str, pairs: int, seed: int) -> None:
    """Prints the ground-truth check and node-level patching under `corruption` on `pairs` pairs of `seed`."""
    batch = PatchingBatch.sample(model, pairs, seed, corruption=corruption)
    check = ground_truth_check(batch, model, Ablation.RESAMPLE)
    removals = sorted(check.removals.items(), key=lambda item: item[1].changed_fraction)
    print(f"\n== {corruption} ({pairs} pairs, seed {seed}) ==")
    print(f"ground truth kept alone: {100 * check.kept.changed_fraction:.2f}% of answers changed -> {check.summary()}")
    print("removals, weakest first: " + ", ".join(f"{part} {100 * change.changed_fraction:.1f}%" for part, change in removals[:4]))
    clean_difference, drops = node_patching(batch, circuit_nodes)
    inside = sorted((d for d in drops if d[1]), key=lambda d: d[2])
    outside = sorted((d for d in drops if not d[1]), key=lambda d: -abs(d[2]))
    print(f"clean logit difference {clean_difference:.2f}")
    print("circuit heads, drop in logit difference: " + ", ".join(f"{n} {v:.2f}" for n, _, v in inside))
    print("strongest other nodes: " + ", ".join(f"{n} {v:.2f}" for n, _, v in outside[:4]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=500)
    parser.add_argument("--seeds", default="0")
    parser.add_argument("--methods", default="eap,eap-ig,patching")
    arguments = parser.parse_args()
    torch.set_num_threads(1)
    model = api.load_model(MODEL)
    circuit_nodes = set(model.ground_truth(Ablation.RESAMPLE).nodes)
    results_dir = Path(tempfile.mkdtemp(prefix="ioi-abc-"))
    for corruption in (INDEPENDENT, ABC):
        for seed in map(int, arguments.seeds.split(",")):
            report_checks(model, circuit_nodes, corruption, arguments.pairs, seed)
        for method in filter(None, arguments.methods.split(",")):
            result = api.run_method(method, MODEL, corruption=corruption, results_dir=results_dir)
            evaluation = result.evaluation
            print(
                f"{method:>9}: edge AUROC {evaluation.edge_auroc:.3f}, node AUROC {evaluation.node_auroc:.3f}, "
                f"CPR {result.faithfulness.cpr:.3f}, {result.wall_time_s:.1f} s"
            )


if __name__ == "__main__":
    main()
