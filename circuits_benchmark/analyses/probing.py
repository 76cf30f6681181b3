"""Linear probing, scored against known variables: where is each variable first decodable, and
which component's output decodes it best, against where and by whom it is known to be written.

Probes are ridge regressions, fitted in closed form (deterministic, milliseconds each) on the
activations at every position after BOS of 70% of the inputs and scored on the other 30%:
categorical variables by balanced accuracy (regression onto one-hot classes, argmax; the mean
recall over classes, so rare values count as much as common ones),
numerical ones by R^2 (clipped at 0). Each probe has a control (Hewitt & Liang's idea, with
shuffled labels as the control task): the same probe fitted to the labels permuted across
examples. Selectivity, score minus control, is what a probe learnt beyond memorising.

Locations are the residual stream at each sublayer boundary (`embed`, `after a0`, `after m0`,
...) and each component's output (`embed`, every head, every MLP). A variable is decodable at a
location when its score reaches PROBE_THRESHOLD with selectivity at least MIN_SELECTIVITY. The
probing analysis claims a variable is written where it first becomes decodable in the residual
stream, and by the component whose output decodes it best; each claim is right when it names
the sublayer (component) that is known to write it.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import torch

from circuits_benchmark.circuits import components
from circuits_benchmark.circuits.components import EMBED
from circuits_benchmark.evaluation.figures import pyplot, save_png
from circuits_benchmark.analyses.known_computation import KnownComputation
from circuits_benchmark.models.transformer import CircuitTransformer

PROBE_THRESHOLD = 0.95
MIN_SELECTIVITY = 0.1
TRAIN_SHARE = 0.7
RIDGE = 1e-2
CONTROL_SEED = 0


@dataclasses.dataclass(frozen=True)
class VariableProbes:
    """One variable's probes: score and control per residual location and per component output."""

    variable: str
    numerical: bool
    writers: tuple[str, ...]
    residual: dict[str, tuple[float, float]]  # location -> (score, control)
    component: dict[str, tuple[float, float]]

    @property
    def known_location(self) -> str:
        """The residual location right after the earliest writer's sublayer."""
        return residual_location_after(min(self.writers, key=components.layer_of))

    @property
    def claimed_location(self) -> str | None:
        """The first residual location where the variable is decodable (None: nowhere)."""
        return next((loc for loc, scores in self.residual.items() if decodable(*scores)), None)

    @property
    def claimed_writer(self) -> str | None:
        """The component whose output decodes the variable best, when decodable there at all."""
        # The locations are in forward order and max keeps the first of equal values: on a tie the
        # earliest component is named.
        best = max(self.component, key=lambda c: self.component[c][0] - self.component[c][1])
        return best if decodable(*self.component[best]) else None

    @property
    def location_right(self) -> bool:
        return self.claimed_location == self.known_location

    @property
    def writer_right(self) -> bool:
        return self.claimed_writer in self.writers

    def to_dict(self) -> dict[str, Any]:
        return {
            "variable": self.variable,
            "numerical": self.numerical,
            "writers": list(self.writers),
            "known_location": self.known_location,
            "claimed_location": self.claimed_location,
            "claimed_writer": self.claimed_writer,
            "location_right": self.location_right,
            "writer_right": self.writer_right,
            "residual": {loc: {"score": s, "control": c} for loc, (s, c) in self.residual.items()},
            "component": {loc: {"score": s, "control": c} for loc, (s, c) in self.component.items()},
        }


def decodable(score: float, control: float) -> bool:
    return score >= PROBE_THRESHOLD and score - control >= MIN_SELECTIVITY


def residual_location_after(component: str) -> str:
    """`embed` for the embedding, else `after a{l}` or `after m{l}`: the first residual stream that holds its output."""
    if component == EMBED:
        return EMBED
    layer = int(components.layer_of(component))
    return f"after a{layer}" if component.startswith("a") else f"after m{layer}"


def probe_model(model: CircuitTransformer, known: KnownComputation) -> list[VariableProbes]:
    """Probes for every known variable at every location (see the module docstring)."""
    residual, outputs = _activations(model, known.tokens)
    n_inputs = known.tokens.shape[0]
    train_inputs = max(1, min(n_inputs - 1, round(TRAIN_SHARE * n_inputs)))
    positions = slice(known.first_position, None)
    results = []
    for variable in known.variables:
        scores = {}
        for where, activations in (("residual", residual), ("component", outputs)):
            scores[where] = {
                location: _probe(acts[:, positions], variable.values[:, positions], variable.numerical, train_inputs)
                for location, acts in activations.items()
            }
        results.append(VariableProbes(variable.name, variable.numerical, variable.writers, scores["residual"], scores["component"]))
    return results


def _activations(model: CircuitTransformer, tokens: torch.Tensor) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """[input, position, d_model] activations: the residual stream at each sublayer boundary and
    each component's output, in forward order."""
    with torch.no_grad():
        _, cache = model.run_with_cache(tokens)
    embedded = cache["hook_embed"] + cache["hook_pos_embed"]
    residual, outputs = {EMBED: embedded}, {EMBED: embedded}
    for layer in range(model.cfg.n_layers):
        residual[f"after a{layer}"] = cache[f"blocks.{layer}.hook_resid_mid"]
        for head in range(model.cfg.n_heads):
            outputs[f"a{layer}.h{head}"] = cache[f"blocks.{layer}.attn.hook_result"][:, :, head]
        if model.cfg.d_mlp > 0:
            residual[f"after m{layer}"] = cache[f"blocks.{layer}.hook_resid_post"]
            outputs[f"m{layer}"] = cache[f"blocks.{layer}.hook_mlp_out"]
    return residual, outputs


def _probe(activations: torch.Tensor, values: np.ndarray, numerical: bool, train_inputs: int) -> tuple[float, float]:
    """(held-out score, held-out score of the same probe fitted to shuffled labels)."""
    features = activations.reshape(-1, activations.shape[-1]).double()
    flat = values.reshape(-1)
    is_train = np.zeros(values.shape, dtype=bool)
    is_train[:train_inputs] = True
    is_train = is_train.reshape(-1)
    if numerical:
        keep = np.array([v is not None for v in flat])
        targets = torch.tensor([float(v) for v in flat[keep]], dtype=torch.float64)[:, None]
        features, is_train = features[torch.from_numpy(keep)], is_train[keep]
    else:
        classes = {value: i for i, value in enumerate(sorted(set(flat), key=repr))}
        targets = torch.nn.functional.one_hot(torch.tensor([classes[v] for v in flat]), len(classes)).double()
    train = torch.from_numpy(is_train)
    if train.all() or not train.any():
        return 0.0, 0.0
    shuffled = targets[torch.from_numpy(np.random.default_rng(CONTROL_SEED).permutation(len(targets)))]
    return tuple(_fit_and_score(features, y, train, numerical) for y in (targets, shuffled))  # type: ignore[return-value]


def _fit_and_score(features: torch.Tensor, targets: torch.Tensor, train: torch.Tensor, numerical: bool) -> float:
    x_train = features[train]
    mean, scale = x_train.mean(0), x_train.std(0).clamp_min(1e-6)
    design = lambda x: torch.cat([(x - mean) / scale, torch.ones(len(x), 1, dtype=x.dtype)], dim=1)  # noqa: E731
    a = design(x_train)
    weights = torch.linalg.solve(a.T @ a + RIDGE * len(a) * torch.eye(a.shape[1], dtype=a.dtype), a.T @ targets[train])
    predicted, truth = design(features[~train]) @ weights, targets[~train]
    if not numerical:  # balanced accuracy: a probe that always answers the commonest value scores 1 / classes
        hits = (predicted.argmax(1) == truth.argmax(1)).double()
        per_class = (truth * hits[:, None]).sum(0) / truth.sum(0)
        return float(per_class[truth.sum(0) > 0].mean())
    residual = ((predicted - truth) ** 2).sum()
    total = ((truth - truth.mean()) ** 2).sum()
    return max(0.0, float(1 - residual / total)) if total > 0 else 0.0


def probing_summary(results: list[VariableProbes]) -> dict[str, float | None]:
    """The share of variables whose location and whose writer probing names rightly."""
    if not results:
        return {"location_right": None, "writer_right": None}
    return {
        "location_right": sum(r.location_right for r in results) / len(results),
        "writer_right": sum(r.writer_right for r in results) / len(results),
    }


def draw_probes(results: list[VariableProbes], title: str, path: Path) -> None:
    """Heatmaps of probe scores, variables by residual location (left) and by component output
    (right); the known location and writers are outlined, selectivity is written in each cell."""
    plt = pyplot()
    from matplotlib.patches import Rectangle

    panels = [("residual stream", "residual", lambda r: {r.known_location}), ("component output", "component", lambda r: set(r.writers))]
    n_columns = [len(getattr(results[0], key)) if results else 1 for _, key, _ in panels]
    figure, axes = plt.subplots(
        1, 2, figsize=(2 + 0.55 * sum(n_columns), 1.6 + 0.45 * max(1, len(results))),
        gridspec_kw={"width_ratios": n_columns}, squeeze=False,
    )
    for axis, (name, key, known) in zip(axes[0], panels):
        if not results:
            axis.set_axis_off()
            continue
        locations = list(getattr(results[0], key))
        grid = np.array([[getattr(r, key)[loc][0] for loc in locations] for r in results])
        axis.imshow(grid, vmin=0, vmax=1, cmap="viridis", aspect="auto")
        for row, result in enumerate(results):
            for column, location in enumerate(locations):
                score, control = getattr(result, key)[location]
                axis.text(column, row, f"{score - control:.2f}", ha="center", va="center", fontsize=7,
                          color="white" if score < 0.6 else "black")
                if location in known(result):
                    axis.add_patch(Rectangle((column - 0.5, row - 0.5), 1, 1, fill=False, edgecolor="red", linewidth=2))
        axis.set_xticks(range(len(locations)), locations, rotation=60, ha="right", fontsize=8)
        axis.set_yticks(range(len(results)), [r.variable for r in results], fontsize=8)
        axis.set_title(f"probe score by {name}", fontsize=9)
    figure.suptitle(f"{title}: colour = held-out score, number = selectivity, red box = known truth", fontsize=10)
    save_png(figure, path, dpi=110)
