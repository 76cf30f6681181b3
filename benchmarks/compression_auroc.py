"""How edge AUROC falls as the residual stream is compressed: for the shipped compressions with
the most kept halvings (or the cases named), each method run on the compiled model (full width)
and on the compressed model at every kept width; one line per method per case. Writes the table
and a plot.

    .venv/bin/python benchmarks/compression_auroc.py [--cases 20,33,34] [--most 4] [--plot compression_auroc.png]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import torch

from circuits_benchmark.discovery.settings import MethodSettings
from circuits_benchmark.evaluation.figures import pyplot, save_png
from circuits_benchmark.compiler.compressed_models import COMPRESSED_RELEASE_DIR, COMPRESSION_FILE
from circuits_benchmark.models.model_id import ModelId
from circuits_benchmark.models.registry import load_benchmark_model
from circuits_benchmark.runs import RunConfig, apply_method, build_problem, evaluate_output

# The methods that tie on compiled models, beside two that do not.
METHODS = ("acdc", "eap", "eap-ig", "patching", "sp")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", help="comma-separated case ids (default: the --most with the most kept halvings)")
    parser.add_argument("--most", type=int, default=4)
    parser.add_argument("--plot", type=Path, default=Path("compression_auroc.png"))
    arguments = parser.parse_args()
    torch.set_num_threads(2)
    stored_all = [json.loads(path.read_text()) for path in sorted(COMPRESSED_RELEASE_DIR.glob(f"case-*/{COMPRESSION_FILE}"))]
    if arguments.cases:
        wanted = {int(c) for c in arguments.cases.split(",")}
        chosen = [s for s in stored_all if s["case_id"] in wanted]
    else:
        chosen = sorted(stored_all, key=lambda s: (-len(s["matches"]), s["case_id"]))[: arguments.most]
    series: dict[int, dict[str, list[tuple[int, float]]]] = {}
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        for stored in chosen:
            kept = [int(width) for width in stored["matches"]]
            case_id = stored["case_id"]
            models = [(stored["d_model"], ModelId.tracr(case_id))] + [(w, ModelId.compressed(case_id, w)) for w in kept]
            for width, model_id in models:
                model = load_benchmark_model(model_id, Path(folder))
                if model.ground_truth() is None:
                    continue  # a width whose ground truth does not verify is not scored
                for method in METHODS:
                    config = RunConfig(method, str(model_id), MethodSettings())
                    problem = build_problem(model, config)
                    output, cost = apply_method(problem, config)
                    auroc = evaluate_output(problem, output, config, cost).evaluation.edge_auroc
                    series.setdefault(case_id, {}).setdefault(method, []).append((width, auroc))
            row = "  ".join(f"{m} " + " ".join(f"d{w}:{a:.2f}" for w, a in points) for m, points in series.get(case_id, {}).items())
            print(f"case {case_id:>3}: {row}", flush=True)
    print(f"{time.perf_counter() - start:.0f} s")
    _draw(series, arguments.plot)
    print(f"plot: {arguments.plot}")


def _draw(series: dict[int, dict[str, list[tuple[int, float]]]], path: Path) -> None:
    plt = pyplot()
    columns = max(1, min(4, len(series)))
    rows = max(1, -(-len(series) // columns))
    figure, axes = plt.subplots(rows, columns, figsize=(4 * columns, 3.2 * rows), squeeze=False)
    for axis in axes.flat:
        axis.set_axis_off()
    for axis, (case_id, methods) in zip(axes.flat, series.items()):
        axis.set_axis_on()
        for method, points in methods.items():
            widths, aurocs = zip(*sorted(points))
            axis.plot(widths, aurocs, marker="o", label=method)
        axis.invert_xaxis()  # compression goes left to right
        axis.set(title=f"case {case_id}", xlabel="residual width (narrower to the right)", ylabel="edge AUROC", ylim=(0, 1.05))
        axis.legend(fontsize=7)
    figure.suptitle("edge AUROC as the residual stream is compressed (each case's compiled width first)")
    save_png(figure, path, dpi=100)


if __name__ == "__main__":
    main()
