"""The Python API: what the CLI does, from one import (README, "Python API", runs these examples).

    from circuits_benchmark import api

    model = api.load_model("tracr:3")                  # a BenchmarkModel: model, data, ground truth
    truth = model.ground_truth(Ablation.RESAMPLE)             # a Circuit (component level)
    clean, corrupted = model.clean_and_corrupted(8, seed=0)
    result = api.run_method("acdc", "tracr:3", threshold=0.025)
    record = api.score_edges("mine", "tracr:3", {("embed", "m0"): 1.0})
    hooked, tokenizer = api.hooked_model("tracr:3")    # a HookedTransformer and its tokenizer

Models are read from `models_dir` and results written to `results_dir`; both default to the
project's results folder (`circuits_benchmark.paths`), not the caller's working directory.
User methods, metrics, cases and model kinds register with the functions re-exported here.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

from circuits_benchmark.choices import Ablation
from circuits_benchmark.cases.case import register_case
from circuits_benchmark.discovery.methods import register_method
from circuits_benchmark.discovery.metric_registry import register_metric
from circuits_benchmark.errors import BenchmarkError
from circuits_benchmark.models.benchmark_model import INDEPENDENT, BenchmarkModel
from circuits_benchmark.models.registry import load_benchmark_model, register_loader
from circuits_benchmark.paths import DEFAULT_RESULTS_DIR
from circuits_benchmark.training.task_families import Recipe, TaskFamily, register_task_family

if TYPE_CHECKING:
    from transformer_lens import HookedTransformer

    from circuits_benchmark.models.tokenizer import CaseTokenizer
    from circuits_benchmark.runs import RunResult
    from circuits_benchmark.storage.results_db import RunRecord
    from circuits_benchmark.training.artifacts import TrainingMeta

__all__ = [
    "BenchmarkModel", "Recipe", "TaskFamily", "hooked_model", "load_model", "register_case", "register_loader",
    "register_method", "register_metric", "register_task_family", "run_method", "score_edges", "tokenizer", "train",
]


def load_model(model_id: str, models_dir: Path = DEFAULT_RESULTS_DIR) -> BenchmarkModel:
    """Any benchmark model by id (`tracr:3`, `siit:3`, `algzoo:...`); raises BenchmarkError."""
    return load_benchmark_model(model_id, models_dir)


def tokenizer(model_id: str, models_dir: Path = DEFAULT_RESULTS_DIR) -> "CaseTokenizer":
    """The tokenizer of a case model (tracr, compressed or siit: each reads its task's tokens);
    raises BenchmarkError for other kinds."""
    from circuits_benchmark.runs import model_tokenizer

    return model_tokenizer(model_id, models_dir)


def hooked_model(model_id: str, models_dir: Path = DEFAULT_RESULTS_DIR) -> tuple["HookedTransformer", "CaseTokenizer"]:
    """A HookedTransformer computing exactly what the model computes, and its tokenizer
    (imports transformer_lens, which takes seconds)."""
    from circuits_benchmark.models.hooked import to_hooked_transformer

    return to_hooked_transformer(load_model(model_id, models_dir).model), tokenizer(model_id, models_dir)


def run_method(
    method: str, model_id: str, *, ablation: Ablation = Ablation.RESAMPLE, metric: str | None = None, sweep: bool = False,
    n_examples: int = 100, seed: int = 42, results_dir: Path = DEFAULT_RESULTS_DIR, models_dir: Path | None = None,
    draw: bool = False, corruption: str = INDEPENDENT, pairs: tuple[Any, Any] | Path | None = None, **settings: Any,
) -> "RunResult":
    """`./main.py run <method>`: runs a registered method (built-in or a user's) on one model,
    scores it, writes its result folder and stores it. `settings` are MethodSettings fields
    (threshold, lambda_reg, edgewise, integrated_grad_steps, epochs, learning_rate).

    `corruption` names how corrupted inputs are made (independent draws, or one the model offers:
    `abc` on IOI); `pairs` are your own inputs instead, `(clean, corrupted)` as token-id tensors
    [n, pos] (BOS first) or lists of token sequences (BOS added), or a JSON file of them
    (`models.input_pairs`); `n_examples` is then their count. Raises BenchmarkError."""
    from circuits_benchmark.discovery.settings import MethodSettings
    from circuits_benchmark.runs import RunConfig, run_discovery, user_pairs

    try:
        method_settings = MethodSettings(**settings)
    except TypeError as error:
        raise BenchmarkError(f"unknown method setting: {error}") from None
    checked = None if pairs is None else user_pairs(model_id, models_dir or results_dir, pairs)
    config = RunConfig(method, model_id, method_settings, ablation, metric, sweep, n_examples, seed, corruption=corruption, pairs=checked)
    return run_discovery(config, results_dir, draw=draw, models_dir=models_dir)


def score_edges(
    name: str, model_id: str, edge_scores: Mapping[tuple[str, str], float], *, description: str = "",
    seconds: float | None = None, ablation: Ablation = Ablation.RESAMPLE, threshold: float = 0.025, n_examples: int = 100,
    seed: int = 42, store: bool = True, results_dir: Path = DEFAULT_RESULTS_DIR, models_dir: Path | None = None,
) -> "RunRecord":
    """Scores your own edge scores ({(source, destination): score}, destinations components or a
    head's q/k/v input; unlisted edges rank last) exactly as `leaderboard submit` does, and stores
    the result under the name `name` (unless `store` is False). Raises BenchmarkError for a bad
    edge or model."""
    from circuits_benchmark.leaderboard.submission import parse_submission, score_model
    from circuits_benchmark.storage.results_db import ResultsStore

    data = {
        "method": name, "description": description, "ablation": ablation, "threshold": threshold,
        "n_examples": n_examples, "seed": seed,
        "models": [{"model": model_id, "edges": [[s, d, float(v)] for (s, d), v in edge_scores.items()]}
                   | ({} if seconds is None else {"seconds": seconds})],
    }
    submission = parse_submission(data, f"score_edges({name!r})")  # checks the edges and `seconds` as `leaderboard submit` does
    record = score_model(submission, submission.models[0], models_dir or results_dir, f"score_edges({name!r}, {model_id!r})")
    if store:
        with ResultsStore(results_dir) as results:
            results.save_run(record)
    return record


def train(task: int | str, *, resume: bool = False, models_dir: Path = DEFAULT_RESULTS_DIR, **settings: Any) -> "TrainingMeta":
    """`./main.py train iit -i <task>`: trains a fresh model to implement a task's circuit (SIIT)
    with its family's recipe, `settings` (SiitSettings fields: lr, strict_weight, seed, epochs,
    ...) overriding it; the model is `siit:<task>:<run id>` under `models_dir`. Raises BenchmarkError."""
    from circuits_benchmark.training.task_families import task_family
    from circuits_benchmark.training.trainer import train_siit

    return train_siit(task, task_family(task).settings(task, **settings), models_dir, resume=resume)

