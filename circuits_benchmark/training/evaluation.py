"""Evaluating trained models and circuits on them: IIT metrics, node ablation effects, node
realism and the ground truth's sufficiency and necessity, all on the one patching engine.

Every figure here is an output change: the fraction of scored output positions (BOS excluded;
"undefined" is a class of its own for categorical cases, so those positions count too) where an
ablated run's output differs from the model's own clean output, by argmax for categorical outputs or by more than a tolerance for numerical ones;
the mean absolute change (numerical) or the mean KL divergence (categorical) comes with it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path
from typing import Any

import torch

from circuits_benchmark.choices import Ablation
from circuits_benchmark.circuits.circuit import Circuit
from circuits_benchmark.circuits.components import EMBED, OUTPUT
from circuits_benchmark.errors import BenchmarkError
from circuits_benchmark.models.compiled import load_compiled_case
from circuits_benchmark.models.benchmark_model import BenchmarkModel
from circuits_benchmark.models.model_id import ModelId
from circuits_benchmark.models.registry import load_benchmark_model
from circuits_benchmark.patching.engine import PatchableModel
from circuits_benchmark.storage.files import atomic_write_bytes, atomic_write_json, read_json
from circuits_benchmark.training.objectives import NUMERICAL_TOLERANCE, heldout_metrics
from circuits_benchmark.training.siit_models import TrainedRun, load_run
from circuits_benchmark.training.task import SiitTask

# The bar a trained model's ground truth must clear to count as faithful: at most this fraction
# of output positions may change when everything outside it is ablated (the training target's
# complement, 99.5% unchanged).
FAITHFULNESS_TOLERANCE = 0.005
# A ground-truth node or edge is necessary when removing it changes the output on at least this
# share of input pairs: 5 of the default 500, well above what one unlucky pair could do.
NECESSITY_SHARE = 0.01
# The ablations a SIIT model's ground truth is trained to hold under (the strict loss resamples;
# mean ablation comes along). Zero ablation is reported by `eval iit` but not trained for.
TRAINED_ABLATIONS = (Ablation.RESAMPLE, Ablation.MEAN)
DEFAULT_EXAMPLES = 500


@dataclasses.dataclass(frozen=True)
class OutputChange:
    """How much an intervention changes a model's output (see the module docstring)."""

    changed_fraction: float
    changed_inputs: int
    inputs: int
    mean_change: float

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


class AblationProbe:
    """A model, a batch of clean and corrupted inputs, and what every ablated run is compared with.

    Built once per evaluation: the clean outputs, the positions that count (the task's metric
    positions where the program's output is defined) and the ablated values of each kind are
    computed once and shared by every `change` call.
    """

    def __init__(self, benchmark_model: BenchmarkModel, n_examples: int, seed: int, tolerance: float = NUMERICAL_TOLERANCE) -> None:
        self.benchmark_model = benchmark_model
        self.patchable = PatchableModel(benchmark_model.model)
        self.clean, self.corrupted = benchmark_model.clean_and_corrupted(n_examples, seed)
        self.tolerance = tolerance
        weights = benchmark_model.metric_positions.expand(self.clean.shape).clone()
        if benchmark_model.defined_positions is not None:
            weights &= benchmark_model.defined_positions(self.clean)
        self.weights = weights
        with torch.no_grad():
            self.reference = benchmark_model.model(self.clean)
        self._ablated: dict[str, torch.Tensor] = {}

    def change(self, masks: torch.Tensor, ablation: str) -> OutputChange:
        """Output change of the pass with edge `masks` (ablated edges take `ablation` values) vs the clean pass."""
        ablation = Ablation.parse(ablation)
        if ablation not in self._ablated:
            self._ablated[ablation] = self.patchable.ablated_outputs(ablation, self.clean, self.corrupted)
        with torch.no_grad():
            patched = self.patchable.run(self.clean, masks, self._ablated[ablation])
        reference, weights = self.reference, self.weights
        if self.benchmark_model.output_kind == "categorical":
            changed = patched.argmax(-1) != reference.argmax(-1)
            logp, logq = reference.log_softmax(-1), patched.log_softmax(-1)
            size = (logp.exp() * (logp - logq)).sum(-1)
        else:
            size = (patched[..., 0] - reference[..., 0]).abs()
            changed = size > self.tolerance
        changed &= weights
        counted = max(int(weights.sum()), 1)
        return OutputChange(
            changed_fraction=int(changed.sum()) / counted,
            changed_inputs=int(changed.any(dim=1).sum()),
            inputs=len(self.clean),
            mean_change=float((size * weights).sum()) / counted,
        )

    def cut_nodes_mask(self, nodes: set[str]) -> torch.Tensor:
        """Masks that cut every edge out of each of `nodes`."""
        sources = self.patchable.layout.sources
        return self.patchable.layout.cut_sources_mask(torch.tensor([s in nodes for s in sources]))


def node_realism(probe: AblationProbe, circuit: Circuit, ablation: str = "resample") -> OutputChange:
    """Output change when every node outside `circuit` is ablated (all its outgoing edges; embed stays)."""
    outside = set(probe.patchable.layout.sources) - set(circuit.nodes) - {EMBED}
    return probe.change(probe.cut_nodes_mask(outside), ablation)


@dataclasses.dataclass(frozen=True)
class GroundTruthCheck:
    """A model's ground truth judged the way `cases verify` judges a compiled one, under one ablation.

    Sufficiency: keep only the ground truth's edges, ablate every other one (`kept`): faithful when
    at most `tolerance` of the output positions change. Necessity: remove one ground-truth node
    (every edge out of it) or one ground-truth edge, keep the rest of the ground truth, ablate
    everything else (`removals`, keyed by node name or `source->destination`): that part is
    necessary when outputs change on at least `NECESSITY_SHARE` of the input pairs.
    """

    model_id: str
    ablation: str
    tolerance: float
    kept: OutputChange
    removals: dict[str, OutputChange]

    @property
    def faithful(self) -> bool:
        return self.kept.changed_fraction <= self.tolerance

    @property
    def redundant(self) -> list[str]:
        """Nodes and edges of the ground truth whose removal changes too few outputs."""
        return [part for part, change in self.removals.items() if change.changed_inputs < NECESSITY_SHARE * change.inputs]

    @property
    def minimal(self) -> bool:
        return not self.redundant

    def summary(self) -> str:
        """One line: 'faithful, minimal' or what failed."""
        faithful = "faithful" if self.faithful else f"UNFAITHFUL ({100 * self.kept.changed_fraction:.2f}% changed)"
        minimal = "minimal" if self.minimal else f"redundant: {', '.join(self.redundant)}"
        return f"{faithful}, {minimal}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "model_id": self.model_id,
            "ablation": self.ablation,
            "faithful": self.faithful,
            "minimal": self.minimal,
            "tolerance": self.tolerance,
            "necessity_share": NECESSITY_SHARE,
            "redundant": self.redundant,
            **self.kept.to_dict(),
            "removals": {part: change.to_dict() for part, change in self.removals.items()},
        }


def ground_truth_check(
    probe: AblationProbe, ablation: str = "resample", tolerance: float = FAITHFULNESS_TOLERANCE
) -> GroundTruthCheck:
    """Sufficiency and necessity of the probe's model's ground truth (see `GroundTruthCheck`).

    Raises BenchmarkError for a model without a ground truth.
    """
    model = probe.benchmark_model
    if not model.ground_truths:
        raise BenchmarkError(f"{model.model_id} has no ground truth to check")
    truth = model.ground_truths[Ablation.parse(ablation).ground_truth]
    layout = probe.patchable.layout
    kept = layout.mask_for(truth)
    removals = {
        node: probe.change(kept * probe.cut_nodes_mask({node}), ablation)
        for node in truth.nodes
        if node not in (EMBED, OUTPUT)
    }
    for edge in truth.edges:
        removals[f"{edge[0]}->{edge[1]}"] = probe.change(layout.mask_for(truth.without_edge(edge)), ablation)
    return GroundTruthCheck(model.model_id, ablation, tolerance, probe.change(kept, ablation), removals)


def check_trained_ground_truth(
    model_id: str, output_dir: Path, n_examples: int = DEFAULT_EXAMPLES, seed: int = 0
) -> dict[str, dict[str, Any]]:
    """Ground-truth checks of a trained model under the ablations its strict loss trains for
    (resample, and mean beside it), as stored in meta.json and the release manifest."""
    probe = AblationProbe(load_benchmark_model(model_id, output_dir), n_examples, seed)
    return {ablation: ground_truth_check(probe, ablation).to_dict() for ablation in TRAINED_ABLATIONS}


@dataclasses.dataclass(frozen=True)
class NodeEffect:
    """Output change when one node is ablated, per ablation kind."""

    node: str
    in_circuit: bool
    effects: dict[str, OutputChange]

    def to_dict(self) -> dict[str, Any]:
        return {"node": self.node, "in_circuit": self.in_circuit, **{k: v.to_dict() for k, v in self.effects.items()}}


def node_ablation_effects(probe: AblationProbe, circuit: Circuit) -> list[NodeEffect]:
    """Resample, zero and mean ablation of each head and MLP alone (all its outgoing edges)."""
    inside = set(circuit.nodes)
    effects = []
    for node in probe.patchable.layout.sources:
        if node != EMBED:
            masks = probe.cut_nodes_mask({node})
            effects.append(NodeEffect(node, node in inside, {kind: probe.change(masks, kind) for kind in Ablation}))
    return effects


def iit_metrics(run: TrainedRun, output_dir: Path) -> dict[str, float]:
    """Held-out accuracy, IIA and strict IIA of a trained run, on the split it was trained with.

    Raises BenchmarkError when the split cannot be rebuilt as it was (the case changed).
    """
    compiled = load_compiled_case(run.case_id, output_dir / "cache")
    task = SiitTask.build(compiled, run.meta["seed"])
    if task.split.fingerprint() != run.meta["split"]["fingerprint"]:
        raise BenchmarkError(f"case {run.case_id}'s inputs changed since {run.run_id} was trained: held-out split lost")
    objective = task.objective(run.model, run.meta["settings"]["tolerance"])
    return heldout_metrics(objective, task.split.test, run.meta["seed"])


def draw_node_effects(effects: list[NodeEffect], title: str, path: Path) -> None:
    """Bar chart of per-node output change under each ablation, circuit nodes set apart by colour."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(max(6.0, 0.6 * len(effects) + 2), 4))
    width = 0.8 / len(Ablation)
    hatches = {"resample": "", "zero": "//", "mean": ".."}
    for k, kind in enumerate(Ablation):
        xs = [i + (k - 1) * width for i in range(len(effects))]
        values = [e.effects[kind].changed_fraction for e in effects]
        colours = ["tab:red" if e.in_circuit else "tab:blue" for e in effects]
        axis.bar(xs, values, width, color=colours, hatch=hatches[kind], edgecolor="black", linewidth=0.5, label=kind)
    axis.set_xticks(range(len(effects)), [e.node for e in effects], rotation=45, ha="right")
    axis.set_ylabel("output positions changed")
    axis.set_ylim(0, 1)
    axis.set_title(f"{title}\nred: circuit nodes, blue: outside; hatch: ablation", fontsize=10)
    handles = [plt.Rectangle((0, 0), 1, 1, facecolor="white", edgecolor="black", hatch=hatches[k]) for k in Ablation]
    axis.legend(handles, list(Ablation), loc="upper right")
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=120)
    plt.close(figure)
    atomic_write_bytes(path, buffer.getvalue())



def eval_dir(output_dir: Path, kind: str, model_id: str) -> Path:
    """`<output_dir>/eval/<kind>/case-NNN/<model>/` for a model id such as `siit:3:<run>` or `tracr:3`."""
    return output_dir / "eval" / kind / Path(*ModelId.parse(model_id).folders())


def evaluate_trained_run(
    case_id: int, run_id: str | None, output_dir: Path, n_examples: int = DEFAULT_EXAMPLES, seed: int = 0
) -> dict[str, Any]:
    """`eval iit`: held-out metrics, per-node ablation effects and ground-truth faithfulness of a run.

    Writes result.json and node_effects.png under `eval_dir(output_dir, "iit", model id)`.
    """
    run = load_run(output_dir, case_id, run_id)
    benchmark_model = load_benchmark_model(run.model_id, output_dir)
    probe = AblationProbe(benchmark_model, n_examples, seed)
    effects = node_ablation_effects(probe, run.ground_truths["resample"])
    report = {
        "model_id": run.model_id,
        "metrics": iit_metrics(run, output_dir),
        "trained_metrics": run.meta["metrics"],
        "node_effects": [effect.to_dict() for effect in effects],
        "ground_truth_checks": [ground_truth_check(probe, a).to_dict() for a in Ablation],
        "n_examples": n_examples,
        "seed": seed,
    }
    target = eval_dir(output_dir, "iit", run.model_id)
    atomic_write_json(target / "result.json", report)
    draw_node_effects(effects, run.model_id, target / "node_effects.png")
    return {**report, "result_dir": str(target)}


def realism_of_result(
    result_path: Path, model_id: str, output_dir: Path, ablation: str = "resample", n_examples: int = DEFAULT_EXAMPLES, seed: int = 0
) -> dict[str, Any]:
    """`eval node_realism`: node realism of the circuit in a result.json (its "circuit" key).

    Raises BenchmarkError for an unreadable file, a missing or malformed circuit, or a result
    that names another model.
    """
    result = read_json(result_path)
    if not isinstance(result, dict) or "circuit" not in result:
        raise BenchmarkError(f"{result_path} has no 'circuit' key")
    named = result.get("model_id")
    if named is not None and not ModelId.parse(named).same_model_as(ModelId.parse(model_id)):
        raise BenchmarkError(f"{result_path} is a circuit of {named}, not of {model_id}")
    try:
        circuit = Circuit.from_dict(result["circuit"])
    except ValueError as error:
        raise BenchmarkError(f"{result_path}: {error}") from None
    digest = hashlib.sha256(json.dumps(circuit.to_dict(), sort_keys=True).encode()).hexdigest()[:12]
    return _realism_report("node_realism", model_id, circuit, str(result_path), output_dir, ablation, n_examples, seed, digest)


def realism_of_ground_truth(
    model_id: str, output_dir: Path, ablation: str = "resample", n_examples: int = DEFAULT_EXAMPLES, seed: int = 0
) -> dict[str, Any]:
    """`eval gt_node_realism`: node realism of a model's own ground truth for `ablation`."""
    truth = load_benchmark_model(model_id, output_dir).ground_truth(ablation)
    if truth is None:
        raise BenchmarkError(f"{model_id} has no ground truth")
    return _realism_report("gt_node_realism", model_id, truth, "ground truth", output_dir, ablation, n_examples, seed, "ground_truth")


def _realism_report(
    kind: str, model_id: str, circuit: Circuit, source: str, output_dir: Path,
    ablation: str, n_examples: int, seed: int, folder: str,
) -> dict[str, Any]:
    benchmark_model = load_benchmark_model(model_id, output_dir)
    change = node_realism(AblationProbe(benchmark_model, n_examples, seed), circuit, ablation)
    report = {
        "model_id": benchmark_model.model_id,
        "circuit_source": source,
        "circuit": circuit.canonical().to_dict(),
        "ablation": ablation,
        "change": change.to_dict(),
        "n_examples": n_examples,
        "seed": seed,
    }
    target = eval_dir(output_dir, kind, benchmark_model.model_id) / f"{folder}-{ablation}-n{n_examples}-seed{seed}"
    atomic_write_json(target / "result.json", report)
    return {**report, "result_dir": str(target)}
