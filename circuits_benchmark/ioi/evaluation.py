"""`eval ioi`: the IOI model judged as IOI circuits in GPT-2 are.

`ioi_report`: on held-out sentences (templates and name pairs never trained on), the accuracy of
the IO prediction, the logit difference logit(IO) - logit(S), the same per held-out template and
order, and each head's and MLP's ablation effect on both (resample: the node's output on another
held-out sentence; mean: its mean output), drawn as a heatmap with the circuit's heads outlined.

`eval ioi_acdc` is `analyses.acdc_comparison`, which serves `eval iit_acdc` too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from circuits_benchmark.choices import Ablation
from circuits_benchmark.circuits import components
from circuits_benchmark.evaluation.figures import pyplot, save_png
from circuits_benchmark.analyses.eval_files import DEFAULT_EXAMPLES, eval_dir, write_report
from circuits_benchmark.circuits.components import OUTPUT
from circuits_benchmark.ioi import sentences
from circuits_benchmark.ioi.high_level import EDGE_SLOTS, INPUT, NODES, ll_node
from circuits_benchmark.models.registry import load_benchmark_model
from circuits_benchmark.patching.engine import PatchableModel

NODE_ABLATIONS = (Ablation.RESAMPLE, Ablation.MEAN)


def ioi_report(model_id: str, output_dir: Path, n_examples: int = DEFAULT_EXAMPLES, seed: int = 0) -> dict[str, Any]:
    """`eval ioi`: accuracy and logit difference on held-out sentences, per template and order, and
    per-node ablation effects. Writes result.json and node_effects.png under `eval/ioi/`."""
    benchmark_model = load_benchmark_model(model_id, output_dir)
    rng = np.random.default_rng(seed)
    clean = sentences.sample_sentences(rng, n_examples, held_out=True)
    corrupted = sentences.sample_sentences(rng, n_examples, held_out=True)
    tokens, corrupted_tokens = sentences.encode(clean), sentences.encode(corrupted)
    patchable = PatchableModel(benchmark_model.model)
    names = list(sentences.NAMES)
    io = torch.tensor([names.index(s.indirect_object) for s in clean])
    subject = torch.tensor([names.index(s.subject) for s in clean])

    def score(last_logits: torch.Tensor, rows: torch.Tensor | None = None) -> dict[str, float]:
        rows = torch.ones(len(io), dtype=torch.bool) if rows is None else rows
        picked = last_logits[rows]
        difference = picked.gather(1, io[rows, None]) - picked.gather(1, subject[rows, None])
        return {"accuracy": float((picked.argmax(dim=-1) == io[rows]).float().mean()), "logit_difference": float(difference.mean())}

    with torch.no_grad():
        logits, _ = patchable.run_with_sources(tokens)
        ablated = {a: patchable.ablated_outputs(a, tokens, corrupted_tokens) for a in NODE_ABLATIONS}
        clean_score = score(logits[:, -1])
        groups = {}
        for template in sentences.templates(held_out=True):
            for order in sentences.ORDERS:
                rows = torch.tensor([s.template == template and s.order == order for s in clean])
                if rows.any():
                    groups[f"template {template} {order}"] = score(logits[:, -1], rows) | {"sentences": int(rows.sum())}
        truth = benchmark_model.ground_truth(Ablation.RESAMPLE)
        circuit_nodes = set(truth.nodes) if truth else set()
        effects = []
        for node in patchable.layout.sources[1:]:
            mask = patchable.layout.cut_sources_mask(torch.tensor([s == node for s in patchable.layout.sources]))
            row = {"node": node, "in_circuit": node in circuit_nodes}
            for ablation, values in ablated.items():
                row[ablation] = score(patchable.run(tokens, mask, values)[:, -1])
            effects.append(row)
    report = {
        "model_id": benchmark_model.model_id,
        "held_out": clean_score,
        "by_template": groups,
        "node_effects": effects,
        "examples": [s.text + " -> " + s.indirect_object for s in clean[:5]],
        "n_examples": n_examples,
        "seed": seed,
    }
    target = eval_dir(output_dir, "ioi", benchmark_model.model_id)
    cfg = benchmark_model.model.cfg

    def draw() -> None:
        draw_head_effects(report, cfg.n_layers, cfg.n_heads, target / "node_effects.png")
        draw_high_level(target / "high_level.png")

    return write_report(report, target, draw)


def draw_high_level(path: Path) -> Path:
    """The HL causal graph, each node labelled with its LL head and each edge with the head inputs
    it enters: the ground truth as written down in `ioi.high_level`."""
    from circuits_benchmark.circuits.drawing import new_graph

    graph = new_graph("IOI: high-level model and its low-level heads")
    for node in (INPUT, *NODES, OUTPUT):
        graph.add_node(node, label=f"{node}\n{ll_node(node)}", fillcolor="#d9ead3" if node in (INPUT, OUTPUT) else "#cfe2f3")
    for (source, destination), slots in EDGE_SLOTS.items():
        graph.add_edge(source, destination, label=",".join(slot for slot in slots if slot), fontsize="9")
    path.parent.mkdir(parents=True, exist_ok=True)
    graph.draw(str(path), prog="dot")
    return path


def draw_head_effects(report: dict[str, Any], n_layers: int, n_heads: int, path: Path) -> None:
    """Heatmaps (layer x head, MLP last) of the logit difference left after ablating each node,
    one per ablation; the ground truth's nodes outlined."""
    plt = pyplot()
    figure, axes = plt.subplots(1, len(NODE_ABLATIONS), figsize=(4.2 * len(NODE_ABLATIONS), 0.55 * n_layers + 1.8))
    clean = report["held_out"]["logit_difference"]
    by_node = {row["node"]: row for row in report["node_effects"]}
    columns = [components.head_name(0, h).split(".")[1] for h in range(n_heads)] + ["mlp"]
    for axis, ablation in zip(axes, NODE_ABLATIONS):
        grid = np.full((n_layers, n_heads + 1), np.nan)
        for layer in range(n_layers):
            for column in range(n_heads + 1):
                node = components.head_name(layer, column) if column < n_heads else components.mlp_name(layer)
                if node in by_node:
                    grid[layer, column] = by_node[node][ablation]["logit_difference"]
        image = axis.imshow(grid, cmap="RdBu", vmin=-abs(clean), vmax=abs(clean))
        for layer in range(n_layers):
            for column in range(n_heads + 1):
                node = components.head_name(layer, column) if column < n_heads else components.mlp_name(layer)
                if by_node.get(node, {}).get("in_circuit"):
                    axis.add_patch(plt.Rectangle((column - 0.5, layer - 0.5), 1, 1, fill=False, edgecolor="black", linewidth=2.5))
        axis.set_xticks(range(n_heads + 1), columns)
        axis.set_yticks(range(n_layers), [f"layer {layer}" for layer in range(n_layers)])
        axis.set_title(f"{ablation} ablation", fontsize=10)
        figure.colorbar(image, ax=axis, shrink=0.8, label="logit difference left")
    figure.suptitle(f"{report['model_id']}: IO - S logit difference {clean:.2f} clean; outlined: ground truth", fontsize=10)
    save_png(figure, path)
