"""One discovery run, end to end: model -> problem -> method -> scores -> evaluation -> stored result.

`run_discovery(RunConfig("acdc", "tracr:3", MethodSettings(threshold=0.025)), Path("results"))` is what `./main.py run acdc -i 3
--tracr` does. Results go to `<output_dir>/<method>/<case>/<model>/<params>/`: result.json (scores,
circuit, TPR/FPR, ROC and AUROC, faithfulness, config, versions, seed, wall time), roc.png and
circuit.png. The folder name spells out every parameter that changes the result, so no run
overwrites another's files; rerunning the same configuration replaces its files atomically.

A run's clean and corrupted inputs are drawn from the model's task, corrupted by the config's
`corruption` (an independent draw by default; IOI offers `abc`), or are a user's own pairs
(`pairs`, `models.input_pairs`): the folder and store key then name the corruption or the pairs'
fingerprint, so two pair files never share a stored run.
"""

from __future__ import annotations

import dataclasses
import datetime
import socket
import time
from pathlib import Path
from typing import Any, Sequence

import torch

from circuits_benchmark.choices import Ablation, Granularity, OutputKind, RunSource
from circuits_benchmark.circuits.circuit import Circuit, full_circuit
from circuits_benchmark.discovery.methods import METHODS, variant_label
from circuits_benchmark.discovery.metric_registry import METRICS, default_metric, parse_metric
from circuits_benchmark.discovery.problem import DiscoveryProblem, MethodOutput
from circuits_benchmark.discovery.settings import MethodSettings
from circuits_benchmark.errors import BenchmarkError
from circuits_benchmark.evaluation.faithfulness import FaithfulnessCurve, faithfulness_curve
from circuits_benchmark.evaluation.scoring_levels import LEVELS, Candidates, TruthEvaluation, evaluate_against_truth, level_scores
from circuits_benchmark.formatting import format_number
from circuits_benchmark.models.benchmark_model import INDEPENDENT, BenchmarkModel
from circuits_benchmark.models.input_pairs import InputPairs, PairSide, encode_pairs, read_pairs_file
from circuits_benchmark.models.model_id import ModelId
from circuits_benchmark.models.registry import load_benchmark_model
from circuits_benchmark.models.tokenizer import CaseTokenizer
from circuits_benchmark.patching.engine import PassCounter
from circuits_benchmark.patching.output_change import PatchingBatch
from circuits_benchmark.storage.files import atomic_write_json
from circuits_benchmark.storage.results_db import ResultsStore, RunRecord
from circuits_benchmark.training.task_families import task_family
from circuits_benchmark.versions import library_versions

DEFAULT_EXAMPLES = 100


@dataclasses.dataclass(frozen=True)
class RunConfig:
    """Everything that determines a run's result. `corruption` names how corrupted inputs are made
    from clean ones (`BenchmarkModel.corruptions`); `pairs` are a user's own inputs, which replace
    the drawn ones (and set `n_examples` to their count)."""

    method: str
    model_id: str
    settings: MethodSettings
    ablation: Ablation = Ablation.RESAMPLE
    metric: str | None = None  # a registered metric; None: kl for categorical outputs, l2 for numerical ones
    sweep: bool = False
    n_examples: int = DEFAULT_EXAMPLES
    seed: int = 42
    device: str = "cpu"
    corruption: str = INDEPENDENT
    pairs: InputPairs | None = None

    def __post_init__(self) -> None:
        # Names given as text (from the CLI or a stored config) become their enum members here,
        # the one place they are checked; a bad one raises BenchmarkError.
        object.__setattr__(self, "ablation", Ablation.parse(self.ablation))
        object.__setattr__(self, "metric", None if self.metric is None else parse_metric(self.metric))
        if self.pairs is not None:
            object.__setattr__(self, "n_examples", len(self.pairs))

    def to_dict(self) -> dict[str, Any]:
        """The config as result.json stores it: a user's pairs by their summary (fingerprint,
        count, source), not their tokens."""
        stored = dataclasses.asdict(dataclasses.replace(self, pairs=None))
        return stored | {"pairs": None if self.pairs is None else self.pairs.summary()}

    def validate(self) -> None:
        """Raises BenchmarkError naming the first bad value."""
        if self.method not in METHODS:
            raise BenchmarkError(f"unknown method {self.method!r}: use one of {', '.join(METHODS)}")
        if self.n_examples < 2:
            raise BenchmarkError(f"--n-examples must be at least 2, not {self.n_examples}")
        if self.pairs is not None and self.corruption != INDEPENDENT:
            raise BenchmarkError(f"your own pairs bring their own corrupted inputs: leave out --corruption {self.corruption}")
        self.settings.validate()
        # For a method whose result the threshold decides (ACDC's tau: the metric change below which
        # an edge is pruned), a negative one would keep every edge; a score method's cut may be any number.
        if "threshold" in METHODS[self.method].uses and self.settings.threshold < 0:
            raise BenchmarkError(f"--threshold is {self.method}'s tau, a metric change: it must be >= 0, not {self.settings.threshold}")


def build_problem(benchmark_model: BenchmarkModel, config: RunConfig, drawn: PatchingBatch | None = None) -> DiscoveryProblem:
    """The problem a method sees: clean/corrupted batches (the user's pairs, or drawn and corrupted
    as configured; `drawn`: the batch another run of the same data drew, copied), ablation values,
    metric and weights."""
    torch.manual_seed(config.seed)
    pairs = config.pairs
    if drawn is not None:
        batch = drawn.copy()
    elif pairs is None:
        batch = PatchingBatch.sample(benchmark_model, config.n_examples, config.seed, config.device, corruption=config.corruption)
    else:
        batch = PatchingBatch.from_inputs(benchmark_model, pairs.clean, pairs.corrupted, config.device)
    if batch.weights.sum() == 0:
        data = "your pairs" if pairs else "the sampled data"
        raise BenchmarkError(f"{benchmark_model.model_id}: no defined output position in {data}")
    metric = config.metric or default_metric(benchmark_model.output_kind)
    if METRICS[metric].categorical_only and benchmark_model.output_kind != OutputKind.CATEGORICAL:
        raise BenchmarkError(f"metric {metric!r} compares classes: {benchmark_model.model_id} has numerical outputs (use l2)")
    return DiscoveryProblem(benchmark_model, batch, config.ablation, metric, config.seed, corruption=config.corruption)


def model_tokenizer(model_id: str, models_dir: Path) -> CaseTokenizer:
    """The tokenizer of a case model (tracr, compressed or siit: each reads its task's tokens);
    raises BenchmarkError for other kinds."""
    case = ModelId.parse(model_id).case
    if case is None:
        raise BenchmarkError(f"{model_id} is not a case model: only tracr:<case> and siit:<task> have a tokenizer")
    return task_family(case).tokenizer(case, models_dir)


def user_pairs(model_id: str, models_dir: Path, pairs: tuple[PairSide, PairSide] | Path) -> InputPairs:
    """A user's (clean, corrupted) pairs, or a file of them, encoded for a model (`models.input_pairs`);
    raises BenchmarkError for pairs the model cannot read or a model without a tokenizer."""
    tokenizer = model_tokenizer(model_id, models_dir)
    if isinstance(pairs, Path):
        return read_pairs_file(pairs, tokenizer)
    if not isinstance(pairs, (tuple, list)) or len(pairs) != 2:
        raise BenchmarkError("pairs must be (clean, corrupted): two token-id tensors or two lists of token sequences")
    return encode_pairs(tokenizer, pairs[0], pairs[1], "python")


def result_dir(config: RunConfig, output_dir: Path) -> Path:
    """`<output_dir>/<method>/<case>/<model>/<params>/` for a run configuration."""
    case, model = ModelId.parse(config.model_id).folders()
    used = {name: getattr(config.settings, name) for name in METHODS[config.method].uses}
    params = {"ablation": config.ablation, "metric": config.metric or "auto", **used, "n": config.n_examples, "seed": config.seed}
    if config.settings.budget is not None:  # only capped runs name it, so uncapped keys stay as they were
        params["budget"] = config.settings.budget
    if config.corruption != INDEPENDENT:  # the same for the corruption and a user's pairs
        params["corruption"] = config.corruption
    if config.pairs is not None:
        params["pairs"] = config.pairs.fingerprint
    name = ("sweep_" if config.sweep else "") + "_".join(f"{k}-{v}" for k, v in params.items())
    return output_dir / config.method / case / model / name


@dataclasses.dataclass(frozen=True)
class RunPlace:
    """Where a run stands in the results store.

    Attributes:
        run_key: the run's identity in the store.
        series_key: the run key of its sweep's reference point (its own key outside sweeps).
        label: the method variant's name in tables.
        source: "bench", "run" (`./main.py run`) or "submission" (external scores).
        sweep_parameter, sweep_size: the setting its sweep varies and its number of points
            (None and 1 outside a sweep).
        reference: whether it is the sweep's point at the variant's default setting.
    """

    run_key: str
    series_key: str
    label: str
    source: RunSource = RunSource.BENCH
    sweep_parameter: str | None = None
    sweep_size: int = 1
    reference: bool = True


@dataclasses.dataclass
class RunResult:
    """One method on one model, scored.

    Attributes:
        config: what ran. model_id: the model it resolved to (`siit:3` names a run here).
        metric: the metric used (the config's, or the output kind's default).
        scores: edge scores at component level ("edges"), per node ("nodes") and per head input
            ("qkv_edges"), as [source, destination, score] lists.
        circuit: the circuit at the threshold (component level). details: method-specific numbers.
        ground_truth: the circuit scored against (q/k/v level; None where none is known), and `evaluation`.
        dont_care: its edges (component level) scored as neither true nor false: those whose
            single removal changes no output (`BenchmarkModel.dont_care`).
        cost: the method's passes through the engine (`PassCounter.to_dict`: forward rows,
            backward rows, forward-pass equivalents); None for scores computed elsewhere.
        wall_time_s: load, run and scoring time. result_dir: where its files were written, if anywhere.
    """

    config: RunConfig
    model_id: str
    metric: str
    versions: dict[str, str]
    scores: dict[str, Any]
    circuit: Circuit
    details: dict[str, Any]
    faithfulness: FaithfulnessCurve
    ground_truth: Circuit | None
    evaluation: TruthEvaluation | None
    dont_care: list[tuple[str, str]] = dataclasses.field(default_factory=list)
    cost: dict[str, int] | None = None
    wall_time_s: float = 0.0
    result_dir: Path | None = None

    @property
    def method(self) -> str:
        return self.config.method

    def to_dict(self) -> dict[str, Any]:
        """The result.json form (everything but where it was written)."""
        result = {
            "method": self.method,
            "model_id": self.model_id,
            "config": {**self.config.to_dict(), "metric": self.metric},
            "versions": self.versions,
            "seed": self.config.seed,
            "scores": self.scores,
            "circuit": self.circuit.to_dict(),
            "details": self.details,
            "faithfulness": self.faithfulness.to_dict(),
            "ground_truth": None if self.ground_truth is None else self.ground_truth.to_dict(),
            "dont_care_edges": [list(edge) for edge in self.dont_care],
            "cost": self.cost,
        }
        if self.evaluation is not None:
            result["evaluation"] = self.evaluation.to_dict()
        return result | {"wall_time_s": self.wall_time_s}


def run_discovery(config: RunConfig, output_dir: Path, draw: bool = True, models_dir: Path | None = None) -> RunResult:
    """Runs one method on one model, scores it, writes the result folder and stores the run (source
    "run", key `run/<result folder>`: `results ls` shows it; the leaderboard ranks bench runs and
    submissions only); returns the result. The model is read from `models_dir` (its compile cache
    and trained models), by default `output_dir`."""
    config.validate()
    problem, result = compute_run(config, models_dir or output_dir)
    # The resolved id names the folder: `siit:3` means the best run today, another one tomorrow.
    result.result_dir = result_dir(dataclasses.replace(config, model_id=problem.benchmark_model.model_id), output_dir)
    atomic_write_json(result.result_dir / "result.json", result.to_dict())
    key = "run/" + result.result_dir.relative_to(output_dir).as_posix()
    with ResultsStore(output_dir) as store:
        place = RunPlace(key, key, variant_label(config.method, config.settings), source=RunSource.RUN)
        store.save_run(to_record(result, place, result.wall_time_s))
    if draw:
        _draw(result, problem, result.result_dir)
    return result


def compute_run(config: RunConfig, models_dir: Path) -> tuple[DiscoveryProblem, RunResult]:
    """The core of every run (`run_discovery`): `compute_runs` of this one run."""
    return compute_runs([config], models_dir)[0]


def compute_runs(configs: Sequence[RunConfig], models_dir: Path) -> list[tuple[DiscoveryProblem, RunResult]]:
    """Runs of one method on one model (a bench group): the model is loaded from `models_dir` once,
    each run gets its own problem (its data drawn once per group, its own pass counter), the method computes them
    together where it can (`apply_methods`) and each is scored on its own. A run's wall time is its
    share of the load and the method plus its own scoring. Raises ValueError for runs of several
    methods or models, BenchmarkError for a model that cannot be loaded."""
    if len({(config.method, config.model_id) for config in configs}) != 1:
        raise ValueError("compute_runs takes runs of one method on one model")
    start = time.perf_counter()
    model = load_benchmark_model(configs[0].model_id, models_dir)
    drawn: dict[tuple, PatchingBatch] = {}  # runs on the same data draw it once
    problems = []
    for config in configs:
        data = (config.seed, config.n_examples, config.corruption, config.pairs.fingerprint if config.pairs else None, config.device)
        problems.append(build_problem(model, config, drawn.get(data)))
        drawn.setdefault(data, problems[-1].batch)
    outputs = apply_methods(problems, configs)
    share = (time.perf_counter() - start) / len(configs)
    computed = []
    for problem, config, (output, cost) in zip(problems, configs, outputs):
        scoring_start = time.perf_counter()
        result = evaluate_output(problem, output, config, cost)
        result.wall_time_s = share + time.perf_counter() - scoring_start
        computed.append((problem, result))
    return computed


def apply_method(problem: DiscoveryProblem, config: RunConfig) -> tuple[MethodOutput, PassCounter]:
    """Runs the configured method (its sweep when asked) on a problem; returns its output and the
    passes it made (what its scoring costs afterwards is not counted)."""
    return apply_methods([problem], [config])[0]


def apply_methods(problems: Sequence[DiscoveryProblem], configs: Sequence[RunConfig]) -> list[tuple[MethodOutput, PassCounter]]:
    """`apply_method` of each (problem, config) of one method: single runs together, as the method's
    `runs_function` computes them (trained masks: one tensor program), sweeps one after another.
    Each problem has its own pass counter, so each cost is its run's own."""
    method = METHODS[configs[0].method]
    befores = []
    for problem, config in zip(problems, configs):
        before = dataclasses.replace(problem.patchable.passes)
        problem.budget, problem.budget_start = config.settings.budget, before.forward_pass_equivalents
        befores.append(before)
    if any(config.sweep for config in configs):
        outputs = [method.function(config.sweep)(problem, config.settings) for problem, config in zip(problems, configs)]
    else:
        outputs = method.runs_function()(problems, [config.settings for config in configs])
    return [(output, problem.patchable.passes.since(before)) for output, problem, before in zip(outputs, problems, befores)]


def evaluate_output(problem: DiscoveryProblem, output: MethodOutput, config: RunConfig, cost: PassCounter | None = None) -> RunResult:
    """Scores, the circuit at the chosen threshold, its evaluation against the ground truth at every
    level (`scoring_levels`; don't-care edges and nodes are left out of the candidates, so that
    keeping or dropping them neither helps nor hurts), and its faithfulness on held-out pairs."""
    cfg = problem.patchable.model.cfg
    output = dataclasses.replace(output, edge_scores=output.edge_scores.detach().cpu())
    qkv_scores = dict(zip(problem.patchable.layout.edges(), output.edge_scores.tolist()))
    ranked = level_scores(qkv_scores)
    circuit = output.sweep[-1][1] if output.sweep else problem.circuit_from_mask(output.edge_scores >= config.settings.threshold)
    model = problem.benchmark_model
    truth = model.ground_truth(config.ablation, granularity=Granularity.QKV)
    evaluation = None
    if truth is not None:
        full = full_circuit(cfg.n_layers, cfg.n_heads, cfg.d_mlp > 0, granularity=Granularity.QKV)
        candidates = Candidates.of(truth, full, model.dont_care(config.ablation), model.dont_care_components(config.ablation))
        evaluation = evaluate_against_truth(qkv_scores, [c for _, c in output.sweep], circuit, candidates)
    return RunResult(
        config=config,
        model_id=model.model_id,
        metric=problem.metric,
        versions=library_versions(),
        scores={
            "edges": [[s, d, v] for (s, d), v in ranked["component_edges"].items()],
            "nodes": ranked["nodes"],
            "qkv_edges": [[s, d, v] for (s, d), v in qkv_scores.items()],
        },
        circuit=circuit.canonical(),
        details=output.details,
        faithfulness=faithfulness_curve(problem, output.edge_scores),
        ground_truth=truth,
        evaluation=evaluation,
        dont_care=sorted(model.dont_care_components(config.ablation)[0]),
        cost=None if cost is None else cost.to_dict(),
    )


def to_record(result: RunResult, place: RunPlace, wall_time_s: float) -> RunRecord:
    """The store's record of a scored run (the storage boundary: typed result in, row out)."""
    evaluation = result.evaluation
    aurocs = evaluation.aurocs if evaluation else {}
    metrics = {
        "edge_auroc": aurocs.get("edges"),
        "component_edge_auroc": aurocs.get("component_edges"),
        "node_auroc": aurocs.get("nodes"),
        "cpr": result.faithfulness.cpr,
        "cmd": result.faithfulness.cmd,
        "cost_fpe": result.cost["forward_pass_equivalents"] if result.cost else None,
    }
    for level in LEVELS:
        confusion = evaluation.at_threshold.get(level) if evaluation else None
        metrics[f"{level[:-1]}_tpr"] = confusion.tpr if confusion else None
        metrics[f"{level[:-1]}_fpr"] = confusion.fpr if confusion else None
    stored = result.to_dict()
    kept_evaluation = {k: v for k, v in stored.get("evaluation", {}).items() if k != "rocs"}
    config = result.config
    # The model the run resolved to (`siit:3` names its run here), as the bench names models.
    model_id = ModelId.parse(result.model_id)
    method = METHODS.get(config.method)
    # A submission's only setting is its circuit's cut.
    used = method.uses if method else ("threshold",)
    return RunRecord(
        **dataclasses.asdict(place),  # its fields are the record's own
        method=config.method,
        model_id=result.model_id,
        model_kind=model_id.kind,
        case_id=model_id.case_id,
        ablation=config.ablation,
        metric=result.metric,
        n_examples=config.n_examples,
        seed=config.seed,
        parameters={name: getattr(config.settings, name) for name in used},
        sweep_value=getattr(config.settings, place.sweep_parameter) if place.sweep_parameter else None,
        versions=result.versions,
        wall_time_s=wall_time_s,
        finished_at=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        host=socket.gethostname(),
        metrics=metrics,
        roc={level: evaluation.rocs[level] if evaluation else [] for level in LEVELS},
        result={key: stored[key] for key in ("config", "circuit", "scores", "faithfulness")}
        | {"evaluation": kept_evaluation, "details": stored["details"], "dont_care_edges": stored["dont_care_edges"]},
    )


def _draw(result: RunResult, problem: DiscoveryProblem, target: Path) -> None:
    from circuits_benchmark.circuits.drawing import draw_circuit
    from circuits_benchmark.evaluation.plots import draw_roc

    cfg = problem.patchable.model.cfg
    title = f"{result.method} on {result.model_id}"
    draw_circuit(result.circuit, target / "circuit.png", title, full_circuit(cfg.n_layers, cfg.n_heads, cfg.d_mlp > 0))
    evaluation = result.evaluation
    if evaluation:
        curves = {f"{level.replace('_', ' ')} AUROC {format_number(evaluation.aurocs[level], 3)}": evaluation.rocs[level] for level in LEVELS}
        draw_roc(curves, title, target / "roc.png")

