"""The benchmark: every discovery method with its sweep on every chosen model, into the results store.

`run_bench(BenchRequest(case_ids=[3, 4]), Path("results"))` is what `./main.py bench -i 3,4` does:

1. plan: one job per (model x method variant x seed x sweep point). A model is the compiled model of each
   case, plus its SIIT-trained model where one has been trained (and its compression where scored);
   a named SIIT task (`ioi` among the cases; the suites hold those of every family `in_default_bench`,
   the quick one the first two of each: `suite_tasks`) has only its trained model. A variant is a registry method at
   its default settings (subnetwork probing twice: on nodes and, as `sp-edge`, on edges). ACDC,
   subnetwork probing and edge pruning are swept over their grids; each grid value is its own job, so a
   cluster can spread a sweep and an interrupted sweep keeps its finished points. Every method
   runs with `seeds` seeds, seed, seed + 1, ...: each seed is an independent draw of the data
   (`BenchmarkModel.clean_and_corrupted`), so deterministic methods get intervals from the data too,
   and stochastic ones (random scores, subnetwork probing, edge pruning, UGS) draw their own
   randomness from it as well
2. skip every job whose run key (built from its RunConfig) is already in the store;
3. run the rest in this process, in worker processes or on Ray, in groups (`group_jobs`): a
   trained-mask method (subnetwork probing, edge pruning) computes every sweep point and seed of a
   variant on a model as one tensor program (`discovery.gate_training`); every run is stored the
   moment its group finishes.

The leaderboard is read from the store afterwards (`leaderboard.pages.write_leaderboard`, which
`./main.py bench` calls when the bench ends).

A sweep's points are the runs sharing a `series_key`; the leaderboard builds the sweep's ROC from
their circuits, exactly as `./main.py run <method> --sweep` does from one process.
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
from pathlib import Path
from typing import Callable, ContextManager, Iterator, Sequence

from circuits_benchmark.choices import Ablation, BenchModelKind, Executor, Suite
from circuits_benchmark.discovery.methods import METHODS, method_variants
from circuits_benchmark.discovery.settings import MethodSettings
from circuits_benchmark.errors import BenchmarkError
from circuits_benchmark.models.model_id import ModelId
from circuits_benchmark.runs import DEFAULT_EXAMPLES, RunConfig, RunPlace, compute_runs, result_dir, to_record
from circuits_benchmark.storage.results_db import ResultsStore, RunRecord
from circuits_benchmark.training.task_families import task_families, task_family
from circuits_benchmark.workers import map_in_workers

# The method variants the leaderboard compares.
VARIANTS = method_variants()
MODEL_KINDS = tuple(BenchModelKind)
# The default bench's models of each family: enough to show every family in minutes.
QUICK_MODELS_PER_FAMILY = 2

Advance = Callable[[int], None]
ProgressFactory = Callable[[str, int], ContextManager[Advance]]


@dataclasses.dataclass(frozen=True)
class Job:
    """One run to compute (always a single run: a sweep is one job per point) and where it is stored."""

    config: RunConfig
    place: RunPlace


@dataclasses.dataclass(frozen=True)
class BenchRequest:
    """What `./main.py bench` covers and how it runs.

    case_ids: cases, named SIIT tasks among them (`ioi`; default: those of `suite`, `suite_tasks`).
    suite: "quick" (a few models of every family), "original" (InterpBench's original-release
    cases) or "full" (every case). kinds: model kinds (tracr always where asked; siit only for
    cases with a trained or released model; compressed only for cases whose compression is scored). labels: method variants (see VARIANTS).
    n_examples: inputs per run (None: DEFAULT_EXAMPLES, or in the quick suite a family's `quick_examples`).
    executor: "local" (here, in `jobs` processes) or "ray"; ray_address: an existing cluster (None: a local Ray).
    model_ids: the models themselves (`bench --interp-bench`: the released ones), in place of case_ids, suite and kinds.
    """

    case_ids: Sequence[int | str] | None = None
    suite: Suite = Suite.QUICK
    kinds: Sequence[BenchModelKind] = MODEL_KINDS
    labels: Sequence[str] | None = None
    ablation: Ablation = Ablation.RESAMPLE
    n_examples: int | None = None
    seed: int = 42
    seeds: int = 3
    executor: Executor = Executor.LOCAL
    ray_address: str | None = None
    jobs: int = 1
    model_ids: Sequence[str] | None = None




@dataclasses.dataclass
class BenchReport:
    """What a bench did: jobs planned, skipped (stored already, or meanwhile by another bench), run
    and failed (label, model id, message); wall time."""

    total: int
    skipped: int
    ran: int
    failures: list[tuple[str, str, str]]
    wall_time_s: float


def run_key(config: RunConfig) -> str:
    """The store key of a run: its result folder relative to the output folder, which names every
    parameter that changes the result."""
    return result_dir(config, Path(".")).as_posix()


def trained_model_id(case_id: int | str, output_dir: Path) -> str | None:
    """`siit:<case>:<run>` for the case's trained model (the best local run, else the released
    one: `siit_models.default_run_id`), None when there is neither.

    The run is named in the id, so a better run trained later gets a new run key and is benched
    instead of being skipped as done.
    """
    from circuits_benchmark.training.siit_models import default_run_id

    try:
        return str(ModelId.siit(case_id, default_run_id(output_dir, case_id)))
    except BenchmarkError:
        return None


def model_ids(case_ids: Sequence[int | str], kinds: Sequence[str], output_dir: Path) -> list[str]:
    """The models a bench covers, case by case: compiled, then trained and compressed where present
    (a task without a compiled model, such as IOI: trained only)."""
    unknown = [k for k in kinds if k not in MODEL_KINDS]
    if unknown or not kinds:
        raise BenchmarkError(f"unknown model kind {','.join(unknown) or '(none)'}: use {' and/or '.join(MODEL_KINDS)}")
    from circuits_benchmark.compiler.compressed_models import scored_compressed_id

    trained = {i: trained_model_id(i, output_dir) for i in case_ids} if BenchModelKind.SIIT in kinds else {}
    if set(kinds) == {BenchModelKind.SIIT} and not any(trained.values()):
        raise BenchmarkError(f"no trained model under {output_dir / 'll_models'} for these cases: train one with ./main.py train iit")
    compiled = [i for i in case_ids if task_family(i).compiled]
    compressed = {i: scored_compressed_id(i, output_dir) for i in compiled} if BenchModelKind.COMPRESSED in kinds else {}
    ids = []
    for case_id in case_ids:
        ids += [str(ModelId.tracr(case_id))] if BenchModelKind.TRACR in kinds and case_id in compiled else []
        ids += [trained[case_id]] if trained.get(case_id) else []
        ids += [compressed[case_id]] if compressed.get(case_id) else []
    return ids


def default_named_tasks() -> list[int | str]:
    """The named SIIT tasks a bench covers when no case is given: those of every family in the
    default bench (IOI's, a plug-in's)."""
    return [key for family in task_families() if family.in_default_bench for key in family.keys()]


def suite_tasks(suite: Suite, output_dir: Path) -> list[int | str]:
    """The cases and named tasks of a suite: full, every case and every named task of the families
    in the default bench; original, InterpBench's original-release cases and those named tasks;
    quick, QUICK_MODELS_PER_FAMILY of each: the first original-release cases with a trained model
    (so compiled, trained and compressed models each have that many) and each family's first
    named tasks with one."""
    from circuits_benchmark.cases import ORIGINAL_RELEASE_IDS, all_case_ids

    suite = Suite.parse(suite)
    if suite != Suite.QUICK:
        return [*(ORIGINAL_RELEASE_IDS if suite == Suite.ORIGINAL else all_case_ids()), *default_named_tasks()]
    families = [list(ORIGINAL_RELEASE_IDS)] + [family.keys() for family in task_families() if family.in_default_bench]
    return [key for keys in families for key in [k for k in keys if trained_model_id(k, output_dir)][:QUICK_MODELS_PER_FAMILY]]


def suite_scope(suite: Suite) -> str:
    """What a suite covers, as the leaderboard page states it."""
    smaller = "".join(f", {f.name} models on {f.quick_examples} inputs a run" for f in task_families() if f.in_default_bench and f.quick_examples)
    return {
        Suite.QUICK: f"quick: {QUICK_MODELS_PER_FAMILY} models per family{smaller} "
        f"(./main.py bench --suite full: every case of every family, {DEFAULT_EXAMPLES} inputs a run)",
        Suite.ORIGINAL: "InterpBench's original-release cases and every named task",
        Suite.FULL: "full: every case of every family",
    }[Suite.parse(suite)]


def bench_scope(request: BenchRequest) -> str:
    """What a bench covers, as the leaderboard page states it: its suite's scope, or the chosen cases or models."""
    if request.model_ids is not None:
        return f"the chosen models ({len(request.model_ids)})"
    if request.case_ids:
        return "the chosen cases " + ",".join(map(str, request.case_ids))
    return suite_scope(request.suite)


def plan_jobs(request: BenchRequest, output_dir: Path) -> list[Job]:
    """Every job of a bench, model by model; raises BenchmarkError for a bad selection."""
    labels = list(request.labels or VARIANTS)
    unknown = [label for label in labels if label not in VARIANTS]
    if unknown:
        raise BenchmarkError(f"unknown method {unknown[0]!r}: use one of {', '.join(VARIANTS)}")
    Suite.parse(request.suite)
    if request.seeds < 1:
        raise BenchmarkError(f"--seeds must be at least 1, not {request.seeds}")
    case_ids = list(request.case_ids or suite_tasks(request.suite, output_dir))
    jobs = []
    for model_id in request.model_ids if request.model_ids is not None else model_ids(case_ids, list(request.kinds), output_dir):
        n_examples = examples_per_run(request, model_id)
        for label in labels:
            method, overrides = VARIANTS[label]
            for seed in range(request.seed, request.seed + request.seeds):  # data seeds, for every method
                config = RunConfig(method, model_id, MethodSettings(**overrides), request.ablation, None, False, n_examples, seed)
                config.validate()
                jobs += _sweep_jobs(config, label)
    return jobs


def examples_per_run(request: BenchRequest, model_id: str) -> int:
    """The inputs of each run on a model: the request's, else DEFAULT_EXAMPLES, or in the quick
    suite the model's family's `quick_examples` where it has one."""
    if request.n_examples is not None:
        return request.n_examples
    case = ModelId.parse(model_id).case
    quick = task_family(case).quick_examples if case is not None and Suite.parse(request.suite) == Suite.QUICK else None
    return quick or DEFAULT_EXAMPLES


def _sweep_jobs(reference: RunConfig, label: str) -> list[Job]:
    """The jobs of one variant on one model: one per sweep point, or the single run."""
    series_key = run_key(reference)
    sweep = METHODS[reference.method].sweep
    if sweep is None:
        return [Job(reference, RunPlace(series_key, series_key, label))]
    parameter = sweep.parameter
    default = getattr(reference.settings, parameter)
    values = sweep.values(default)
    jobs = []
    for value in values:
        config = dataclasses.replace(reference, settings=dataclasses.replace(reference.settings, **{parameter: value}))
        place = RunPlace(run_key(config), series_key, label, sweep_parameter=parameter, sweep_size=len(values), reference=value == default)
        jobs.append(Job(config, place))
    return jobs


def group_key(job: Job) -> str:
    """The jobs computed together: a method with a batch run (`Method.batch_run`) computes all its
    points and seeds of a variant on a model at once; any other method's sweep runs its points in
    one worker one after another (so ACDC's neighbouring thresholds reuse the passes they share)."""
    if METHODS[job.config.method].batch_run:
        return f"{job.config.model_id}|{job.place.label}"
    return job.place.series_key


def group_jobs(jobs: Sequence[Job]) -> list[list[Job]]:
    """Jobs in groups (`group_key`), in the order of each group's first job."""
    groups: dict[str, list[Job]] = {}
    for job in jobs:
        groups.setdefault(group_key(job), []).append(job)
    return list(groups.values())


def run_group(group: Sequence[Job], output_dir: Path) -> list[RunRecord]:
    """Computes a group's jobs (`runs.compute_runs`: the model loaded once; together where the
    method has a batch run, else one after another), each into a record."""
    computed = compute_runs([job.config for job in group], output_dir)
    return [to_record(result, job.place, result.wall_time_s) for job, (_, result) in zip(group, computed)]


def _attempt(group: Sequence[Job], output_dir: Path) -> list[RunRecord | str]:
    """Runs a group of jobs; a BenchmarkError (e.g. a model that cannot be loaded) becomes the
    message of every job in the group, so one bad model does not stop the other groups.
    Module-level, so Ray and the worker processes can ship it."""
    import torch

    from circuits_benchmark.plugins import load_environment_plugins

    load_environment_plugins()  # a Ray worker starts bare (the local pool's workers have them already: a no-op)
    torch.set_num_threads(1)  # the models are tiny: one thread beats several fighting over small matrices
    try:
        return list(run_group(group, output_dir))
    except BenchmarkError as error:
        return [str(error)] * len(group)


@contextlib.contextmanager
def no_progress(description: str, total: int) -> Iterator[Advance]:
    """A progress factory that shows nothing (the library default; the CLI passes a bar)."""
    yield lambda n=1: None


def run_bench(request: BenchRequest, output_dir: Path, progress: ProgressFactory = no_progress) -> BenchReport:
    """Plans, skips finished work, runs the rest into the store.

    Each run is committed as it finishes, so an interrupt (Ctrl-C) loses only runs in flight and a
    rerun continues where this one stopped. Raises BenchmarkError for a bad request.
    """
    Executor.parse(request.executor)
    if request.jobs < 1 or (request.jobs > 1 and request.executor != Executor.LOCAL):
        raise BenchmarkError(f"--jobs must be at least 1 and goes with the local executor, got {request.jobs}")
    start = time.perf_counter()
    jobs = plan_jobs(request, output_dir)
    with ResultsStore(output_dir) as store:
        store.save_scope(bench_scope(request))
        finished = store.finished_keys()
        pending = [job for job in jobs if job.place.run_key not in finished]
        with progress("bench", len(jobs)) as advance:
            advance(len(jobs) - len(pending))
            if request.executor == Executor.RAY:
                ran, failures = _run_on_ray(pending, output_dir, store, advance, request.ray_address)
            elif request.jobs > 1:
                ran, failures = _run_in_processes(pending, output_dir, store, advance, request.jobs)
            else:
                ran, failures = _run_here(pending, output_dir, store, advance)
    return BenchReport(len(jobs), len(jobs) - ran - len(failures), ran, failures, time.perf_counter() - start)


def _store_outcome(job: Job, outcome: RunRecord | str, store: ResultsStore, failures: list, advance: Advance) -> int:
    """Stores a run, or notes its failure; returns the number of runs stored (0 or 1)."""
    failed = isinstance(outcome, str)
    if failed:
        failures.append((job.place.label, job.config.model_id, outcome))
    else:
        store.save_run(outcome)
    advance(1)
    return 0 if failed else 1


def _run_here(pending: list[Job], output_dir: Path, store: ResultsStore, advance: Advance) -> tuple[int, list]:
    ran, failures = 0, []
    for group in group_jobs(pending):
        # Another bench writing to this store may have finished some meanwhile.
        fresh = [job for job in group if not store.has_run(job.place.run_key)]
        advance(len(group) - len(fresh))
        if fresh:
            for job, outcome in zip(fresh, _attempt(fresh, output_dir)):
                ran += _store_outcome(job, outcome, store, failures, advance)
    return ran, failures


def _run_in_processes(pending: list[Job], output_dir: Path, store: ResultsStore, advance: Advance, jobs: int) -> tuple[int, list]:
    """Runs groups of jobs (`group_jobs`) in `jobs` worker processes; this process stores each result
    as it comes back, so the store has one writer. On Ctrl-C the workers are stopped at once: only
    the groups in flight are lost."""
    ran, failures = 0, []
    groups = group_jobs(pending)
    work = [(index, group, output_dir) for index, group in enumerate(groups)]
    for index, outcomes in map_in_workers(_attempt_numbered, work, jobs):  # in the order they finish
        for job, outcome in zip(groups[index], outcomes):
            ran += _store_outcome(job, outcome, store, failures, advance)
    return ran, failures


def _attempt_numbered(item: tuple[int, list[Job], Path]) -> tuple[int, list[RunRecord | str]]:
    index, group, output_dir = item
    return index, _attempt(group, output_dir)


def _run_on_ray(pending: list[Job], output_dir: Path, store: ResultsStore, advance: Advance, address: str | None) -> tuple[int, list]:
    """Ships every group of jobs (`group_jobs`) to Ray (one CPU each); the results come back here and
    are stored by this process, so workers need no access to the store, only the project installed."""
    try:
        import ray
    except ImportError:
        raise BenchmarkError("--executor ray needs Ray: pip install 'circuits-benchmark[ray]'") from None
    owns_ray = not ray.is_initialized()
    if owns_ray:
        # A new local Ray when no address is given; the dashboard costs memory and start-up time.
        ray.init(address=address, **({} if address else {"include_dashboard": False}), log_to_driver=False)
    ran, failures = 0, []
    task = ray.remote(num_cpus=1)(_attempt)
    # Workers may have another working directory: give them an absolute output folder.
    in_flight = {task.remote(group, output_dir.resolve()): group for group in group_jobs(pending)}
    try:
        while in_flight:
            ready, _ = ray.wait(list(in_flight), num_returns=1)
            group = in_flight.pop(ready[0])
            for job, outcome in zip(group, ray.get(ready[0])):
                ran += _store_outcome(job, outcome, store, failures, advance)
    finally:
        for ref in in_flight:
            ray.cancel(ref, force=True)
        if owns_ray:
            ray.shutdown()
    return ran, failures
