"""External submissions: a method's edge scores in a JSON file, scored exactly like a built-in method.

Format (`./main.py leaderboard submit FILE`):

    {
      "method": "my-method",            name on the leaderboard: letters, digits, . _ -; not a built-in's
      "description": "...",             optional, free text
      "ablation": "resample",           optional: the ground truth scored against (resample, zero, mean)
      "threshold": 0.5,                 optional (default 0.025): edges scoring at least this form the
                                        reported circuit (its TPR/FPR)
      "n_examples": 100, "seed": 42,    optional: the data of the faithfulness curve (CPR, CMD)
      "models": [
        {"model": "tracr:3",            any model id with a known ground truth (tracr:<case>, siit:<case>)
         "edges": [["embed", "a0.h0", 0.93], ["a0.h0", "output", 0.88], ["embed", "a1.h0.q", 0.1]],
         "seconds": 2.5}                optional: what the method cost on this model (the leaderboard's
                                        cost column; without it a submission's cost shows n/a)
      ]
    }

An edge is [source, destination, score]: source `embed`, `a{layer}.h{head}` or `m{layer}`;
destination a component (`a1.h0`, `m1`, `output`) or one input of a head (`a1.h0.q`, `.k`, `.v`);
higher scores mean "more likely in the circuit". A component destination scores all three inputs of
a head; a listed input overrides it. Edges not listed rank below every listed one. A built-in
method's result.json holds such lists (`scores.qkv_edges` per head input, `scores.edges` per component),
so its scores can be submitted as they are.

Scoring runs the same code as a built-in run (`runs.evaluate_output`: ROC and AUROC from the score
ranking, the circuit at the threshold, MIB faithfulness), and the run is stored like any other under
the key `submission/<method>/<model>/...`; submitting again replaces it. Every entry is checked
before anything is stored, and a bad file is reported as one line naming the offending place.
"""

from __future__ import annotations

import dataclasses
import math
import re
import time
from pathlib import Path
from typing import Any

from circuits_benchmark.choices import Ablation, RunSource
from circuits_benchmark.errors import BenchmarkError
from circuits_benchmark.storage.files import read_json
from circuits_benchmark.storage.results_db import ResultsStore, RunRecord

NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,39}")
TOP_LEVEL_KEYS = {"method", "description", "ablation", "threshold", "n_examples", "seed", "models"}
ENTRY_KEYS = {"model", "edges", "seconds"}


@dataclasses.dataclass(frozen=True)
class SubmittedModel:
    """One model's entry: its id, its edge scores [(source, destination, score)], and the seconds the
    method took on it as the submitter reports them (None: not reported)."""

    model_id: str
    edges: list[tuple[str, str, float]]
    seconds: float | None = None


@dataclasses.dataclass(frozen=True)
class Submission:
    """A checked submission file: settings, then one entry per model."""

    method: str
    description: str
    ablation: Ablation
    threshold: float
    n_examples: int
    seed: int
    models: list[SubmittedModel]


def submit(path: Path, output_dir: Path, store: bool = True) -> list[RunRecord]:
    """Checks and scores a submission file, stores one run per model and rewrites the leaderboard
    (with `store=False`, a dry run: the records are returned and nothing is written).

    Raises BenchmarkError (one line, naming the file and the offending entry) for a bad file;
    nothing is stored then.
    """
    from circuits_benchmark.leaderboard.pages import write_leaderboard

    submission = parse_submission(read_json(path), str(path))
    records = [score_model(submission, entry, output_dir, f"{path}: models[{i}]") for i, entry in enumerate(submission.models)]
    if not store:
        return records
    with ResultsStore(output_dir) as results:
        for record in records:
            results.save_run(record)
    write_leaderboard(output_dir)
    return records


def parse_submission(data: Any, where: str) -> Submission:
    """Checks the structure of a submission (not yet its edges against the models)."""
    from circuits_benchmark.discovery.methods import method_variants

    _expect(isinstance(data, dict), f"{where}: expected a JSON object with 'method' and 'models'")
    unknown = sorted(set(data) - TOP_LEVEL_KEYS)
    _expect(not unknown, f"{where}: unknown key {', '.join(map(repr, unknown))} (known: {', '.join(sorted(TOP_LEVEL_KEYS))})")
    method = data.get("method")
    _expect(isinstance(method, str) and NAME_PATTERN.fullmatch(method) is not None,
            f"{where}: 'method' must be a name of letters, digits, '.', '_' or '-' (at most 40), not {method!r}")
    _expect(method not in method_variants(), f"{where}: method name {method!r} is a built-in method's: pick another")
    try:
        ablation = Ablation.parse(data.get("ablation", "resample"))
    except BenchmarkError as error:
        raise BenchmarkError(f"{where}: {error}") from None
    threshold = data.get("threshold", 0.025)
    _expect(_is_number(threshold), f"{where}: 'threshold' must be a finite number, not {threshold!r}")
    n_examples, seed = data.get("n_examples", 100), data.get("seed", 42)
    _expect(isinstance(n_examples, int) and n_examples >= 2, f"{where}: 'n_examples' must be an integer >= 2, not {n_examples!r}")
    _expect(isinstance(seed, int), f"{where}: 'seed' must be an integer, not {seed!r}")
    entries = data.get("models")
    _expect(isinstance(entries, list) and entries, f"{where}: 'models' must be a non-empty list of {{\"model\": ..., \"edges\": [...]}}")
    models, seen = [], set()
    for i, entry in enumerate(entries):
        models.append(_parse_entry(entry, f"{where}: models[{i}]"))
        _expect(models[-1].model_id not in seen, f"{where}: models[{i}]: model {models[-1].model_id!r} is listed twice")
        seen.add(models[-1].model_id)
    description = data.get("description", "")
    _expect(isinstance(description, str), f"{where}: 'description' must be text, not {description!r}")
    return Submission(method, description, ablation, float(threshold), n_examples, seed, models)


def _parse_entry(entry: Any, where: str) -> SubmittedModel:
    _expect(isinstance(entry, dict) and not set(entry) - ENTRY_KEYS and "model" in entry and "edges" in entry,
            f"{where}: expected {{\"model\": \"tracr:3\", \"edges\": [[source, destination, score], ...]}}")
    model_id, edges = entry["model"], entry["edges"]
    _expect(isinstance(model_id, str) and model_id, f"{where}: 'model' must be a model id such as tracr:3, not {model_id!r}")
    _expect(isinstance(edges, list) and edges, f"{where}: 'edges' must be a non-empty list of [source, destination, score]")
    parsed = []
    for j, edge in enumerate(edges):
        valid = isinstance(edge, list) and len(edge) == 3 and all(isinstance(n, str) for n in edge[:2]) and _is_number(edge[2])
        _expect(valid, f"{where}.edges[{j}]: expected [source, destination, finite score], got {str(edge)[:80]}")
        parsed.append((edge[0], edge[1], float(edge[2])))
    seconds = entry.get("seconds")
    _expect(seconds is None or (_is_number(seconds) and seconds >= 0), f"{where}: 'seconds' must be a number >= 0, not {seconds!r}")
    return SubmittedModel(model_id, parsed, None if seconds is None else float(seconds))


def score_model(submission: Submission, entry: SubmittedModel, models_dir: Path, where: str) -> RunRecord:
    """Scores one model's edge scores against its ground truth, as `runs.evaluate_output` scores a
    method. The record's wall time is our scoring time; the submitter's own seconds, if reported,
    are kept as the parameter `reported_seconds` (the leaderboard's cost for a submission)."""
    model_id = entry.model_id
    from circuits_benchmark.discovery.problem import MethodOutput
    from circuits_benchmark.discovery.settings import MethodSettings
    from circuits_benchmark.models.registry import load_benchmark_model
    from circuits_benchmark.runs import RunConfig, RunPlace, build_problem, evaluate_output, to_record

    start = time.perf_counter()
    try:
        model = load_benchmark_model(model_id, models_dir)
    except BenchmarkError as error:
        raise BenchmarkError(f"{where}: {error}") from None
    _expect(model.ground_truth(submission.ablation) is not None, f"{where}: {model_id} has no known ground truth to score against")
    settings = MethodSettings(threshold=submission.threshold)
    config = RunConfig(submission.method, model_id, settings, submission.ablation, None, False, submission.n_examples, submission.seed)
    problem = build_problem(model, config)
    output = MethodOutput(edge_scores=_engine_scores(problem, entry.edges, where))
    result = evaluate_output(problem, output, config)
    key = f"submission/{submission.method}/{model_id}/ablation-{submission.ablation}_n-{submission.n_examples}_seed-{submission.seed}"
    place = RunPlace(key, key, submission.method, source=RunSource.SUBMISSION)
    record = to_record(result, place, time.perf_counter() - start)
    given = {"description": submission.description, "reported_seconds": entry.seconds}
    return dataclasses.replace(record, parameters={**record.parameters, **{k: v for k, v in given.items() if v}})


def _engine_scores(problem: Any, edges: list[tuple[str, str, float]], where: str) -> Any:
    """The scores in the patching engine's edge order (q/k/v level); unlisted edges score -inf."""
    import torch

    from circuits_benchmark.circuits.components import component_of

    layout_edges = problem.patchable.layout.edges()
    known = set(layout_edges) | {(s, component_of(d)) for s, d in layout_edges}
    example = " ".join(f"{s}->{d}" for s, d in sorted({(s, component_of(d)) for s, d in layout_edges})[:4])
    given: dict[tuple[str, str], float] = {}
    for j, (source, destination, score) in enumerate(edges):
        _expect((source, destination) in known,
                f"{where}.edges[{j}]: {source} -> {destination} is not an edge of {problem.benchmark_model.model_id} (its edges look like {example} ...)")
        _expect((source, destination) not in given, f"{where}.edges[{j}]: {source} -> {destination} is listed twice")
        given[source, destination] = score
    scores = [given.get((s, d), given.get((s, component_of(d)), -math.inf)) for s, d in layout_edges]
    return torch.tensor(scores, dtype=torch.float64)  # keep the submitted precision for the ranking


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _expect(condition: bool, message: str) -> None:
    if not condition:
        raise BenchmarkError(message)
