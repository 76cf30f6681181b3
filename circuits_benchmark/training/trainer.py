"""The SIIT training loop: fresh LL model -> batches of interventions -> held-out metrics -> files.

`train_siit(3, None, Path("results"))` is what `./main.py train iit -i 3` does (None: the task
family's recipe, `training.task_families`). Every
epoch is one pass over the training inputs in an order drawn from a generator seeded with
(seed, epoch); the generator also draws the IIT nodes and strict ablations. Checkpoints hold the
generator state, so a run resumed after Ctrl-C or a kill continues exactly as it would have run.
"""

from __future__ import annotations

import contextlib
import dataclasses
import signal
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterator, Protocol

import numpy as np
import torch

from circuits_benchmark.choices import Ablation, StopReason
from circuits_benchmark.errors import BenchmarkError
from circuits_benchmark.models.benchmark_model import BenchmarkModel
from circuits_benchmark.models.model_id import ModelId
from circuits_benchmark.storage.files import StorageError, atomic_write_json
from circuits_benchmark.training.artifacts import CHECKPOINT_FILE, META_FILE, Checkpoint, TrainedModel, TrainingMeta, TrainingProgress, run_dir, write_run
from circuits_benchmark.training.ground_truth_checks import ground_truth_problems
from circuits_benchmark.training.objectives import HeldoutEvaluation, SiitObjective
from circuits_benchmark.training.siit_models import trained_benchmark_model
from circuits_benchmark.training.task import SiitTask, fresh_ll_model
from circuits_benchmark.training.task_families import CaseKey, build_task, task_family
from circuits_benchmark.training.settings import HELD_OUT_METRICS, SiitSettings
from circuits_benchmark.versions import library_versions

CHECKPOINT_SECONDS = 15.0
# Held-out metrics are measured at the first epoch end at least this many steps after the last
# measurement (every epoch on large training sets, every 8th on case 3's 204 inputs), and always
# before training stops; measuring after each of case 3's 4-step epochs cost a third of its time.
EVAL_STEPS = 32
# Early stopping also asks for the check the release verdict reads (`release.release_verdict`):
# the LL ground truth faithful and minimal under resample ablation, by its family's check. A run whose metrics reach the
# bar while its circuit is untrue (case 3 at a 60% target, at epoch 40 with 18% of outputs changed;
# a user's plug-in case at 99.5% with a 0.64% unfaithful ground truth) trains on instead of
# stopping where no release can take it.
STOPPING_ABLATION = Ablation.RESAMPLE
# The key of an evaluation record that holds its ground-truth check (made only at the bar).
GROUND_TRUTH_KEY = "ground_truth"
# A model in training as its family's ground-truth check takes it: the run, and the run around its task.
CheckedModel = tuple[TrainedModel, BenchmarkModel]


def total_loss(terms: dict[str, torch.Tensor], settings: SiitSettings) -> torch.Tensor:
    """behaviour_weight * behaviour + iit_weight * IIT + strict_weight * strict: each weight once."""
    weights = settings.loss_weights()
    return sum((weights[name] * value for name, value in terms.items()), torch.zeros(()))


class Tracker(Protocol):
    """Where per-epoch values go besides meta.json (wandb, see `training.tracking`)."""

    def log(self, values: dict[str, float], step: int) -> None: ...


# Called after every evaluation with (epochs done, record of the evaluation).
EpochCallback = Callable[[int, dict[str, Any]], None]


def train_siit(
    case: CaseKey,
    settings: SiitSettings | None,
    output_dir: Path,
    resume: bool = False,
    device: str = "cpu",
    on_epoch: EpochCallback | None = None,
    tracker: Tracker | None = None,
    checkpoint_seconds: float = CHECKPOINT_SECONDS,
) -> TrainingMeta:
    """Trains (or, with `resume`, continues) one SIIT run; returns its meta.

    `case` is a task key (a tracr case id, "ioi", a plug-in's task); `settings` None means its
    family's recipe (`TaskFamily.settings`). Writes `<output_dir>/ll_models/case-NNN/<run-id>/` (or
    `ll_models/<task>/<run-id>/`, see `training.artifacts`). `resume`
    continues from the run's checkpoint (from scratch when it has none yet); it may raise the epoch
    limit or change early stopping. Raises BenchmarkError for bad settings, for an existing run
    without `resume`, or for an unreadable checkpoint. Ctrl-C saves a checkpoint, then raises
    KeyboardInterrupt.
    """
    settings = settings or task_family(case).settings(case)
    settings.validate()
    task = build_task(case, output_dir, settings.seed)
    directory = run_dir(output_dir, case, settings.run_id())
    checkpoint = _starting_checkpoint(directory, resume)
    model = fresh_ll_model(task.ll_config, settings.seed, task.init_std).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=settings.lr)
    progress = TrainingProgress()
    generator_state = None
    if checkpoint is not None:
        model.load_state_dict(checkpoint.model_state)
        optimizer.load_state_dict(checkpoint.optimizer_state)
        progress, generator_state = checkpoint.progress, checkpoint.generator_state

    def as_checked(meta: TrainingMeta) -> CheckedModel:
        """The model (trained, or in training) around its task, as its family's check takes it."""
        run = TrainedModel(case, meta.run_id, directory, model, task.ll_ground_truths, task.correspondence, meta)
        return run, trained_benchmark_model(run, output_dir)

    def model_in_training() -> CheckedModel:
        """As the final check will see it written (its meta, never written, is what the task family
        reads: the HL model's fingerprint, the seed)."""
        return as_checked(_meta(task, settings, progress, StopReason.EPOCH_LIMIT, device))

    loop = _Loop(task, settings, model, optimizer, directory, device, progress, checkpoint_seconds, model_in_training)
    with deterministic_kernels():
        stopped = loop.run(generator_state, on_epoch, tracker)
    meta = _meta(task, settings, progress, stopped, device)
    model.cpu().eval().requires_grad_(False)
    write_run(directory, model, task.ll_ground_truths, meta)
    # Sufficiency and necessity of the ground truth, judged on the finished model (the one written).
    meta.ground_truth_checks = task_family(case).check_ground_truth(*as_checked(meta))
    atomic_write_json(directory / META_FILE, meta.to_dict())
    return meta


def _starting_checkpoint(directory: Path, resume: bool) -> Checkpoint | None:
    path = directory / CHECKPOINT_FILE
    if not resume:
        if directory.exists():
            raise BenchmarkError(f"run {directory} exists: pass --resume to continue it, or another --seed")
        return None
    if not path.exists():
        return None  # killed before its first checkpoint: resuming means starting over
    try:
        return Checkpoint.load(path)
    except StorageError as error:
        raise BenchmarkError(f"cannot resume: {error}") from None


@contextlib.contextmanager
def deterministic_kernels() -> Iterator[None]:
    """Torch's deterministic kernels inside the block. With two or more threads some CPU kernels
    otherwise add up in a different order on every run: two 2-thread runs of 15 IOI steps from the
    same seed gave different weights, so a seed alone did not fix what training learns. Kernels
    with no deterministic version (some CUDA ones) warn instead of failing. Torch's deterministic
    mode also fills every new tensor with NaN before its kernel writes it, a guard against kernels
    that read memory they never wrote; no kernel of training does, and the fills of the patched
    pass's large activations cost 2-3% of a step on cases 9 and 113, so they are off."""
    deterministic = torch.utils.deterministic
    previous = (
        torch.are_deterministic_algorithms_enabled(),
        torch.is_deterministic_algorithms_warn_only_enabled(),
        deterministic.fill_uninitialized_memory,
    )
    torch.use_deterministic_algorithms(True, warn_only=True)
    deterministic.fill_uninitialized_memory = False
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(previous[0], warn_only=previous[1])
        deterministic.fill_uninitialized_memory = previous[2]


class _Loop:
    """One run's mutable training state; `run` trains until the epoch limit or early stop."""

    def __init__(
        self,
        task: SiitTask,
        settings: SiitSettings,
        model: torch.nn.Module,
        optimizer: torch.optim.Optimizer,
        directory: Path,
        device: str,
        progress: TrainingProgress,
        checkpoint_seconds: float,
        model_in_training: Callable[[], CheckedModel],
    ) -> None:
        self.task, self.settings, self.model, self.optimizer = task, settings, model, optimizer
        self.model_in_training = model_in_training
        self._checked_model: CheckedModel | None = None
        self.directory, self.progress, self.checkpoint_seconds = directory, progress, checkpoint_seconds
        self.objective: SiitObjective = task.objective(model, settings.tolerance, device)
        self.train = task.split.train.to(device)
        self.heldout = HeldoutEvaluation(self.objective, task.split.test.to(device), settings.seed)
        self.generator = torch.Generator()
        self.seconds_before = progress.seconds
        self.session_start = time.perf_counter()

    def run(self, generator_state: torch.Tensor | None, on_epoch: EpochCallback | None, tracker: Tracker | None) -> str:
        """Trains epochs until a stop; returns why: 'early stop', 'epoch limit' or 'time limit'."""
        settings, progress = self.settings, self.progress
        last_save = time.perf_counter()
        with _interrupt_flag() as interrupted:
            while progress.epoch < settings.epochs and not self._stop_early() and not self._out_of_time():
                order = self._start_epoch(generator_state)
                generator_state = None
                while progress.batch * settings.batch_size < len(order):
                    start = progress.batch * settings.batch_size
                    for name, value in self._step(order[start : start + settings.batch_size]).items():
                        progress.loss_sums[name] = progress.loss_sums.get(name, 0.0) + value
                    progress.batch += 1
                    progress.step += 1
                    progress.loss_steps += 1
                    if interrupted.is_set():
                        self._save_checkpoint()
                        raise KeyboardInterrupt
                    if time.perf_counter() - last_save >= self.checkpoint_seconds:
                        self._save_checkpoint()
                        last_save = time.perf_counter()
                progress.epoch += 1
                progress.batch = 0
                if self._evaluation_due():
                    self._report(self._evaluate(), on_epoch, tracker)
            if not progress.history or progress.evaluated_step != progress.step:
                self._report(self._evaluate(), on_epoch, tracker)  # a resumed run that had nothing left to do
            self._save_checkpoint()
        if self._stop_early():
            return StopReason.EARLY_STOP
        return StopReason.EPOCH_LIMIT if progress.epoch >= settings.epochs else StopReason.TIME_LIMIT

    def _report(self, record: dict[str, Any], on_epoch: EpochCallback | None, tracker: Tracker | None) -> None:
        if tracker is not None:
            tracker.log({k: v for k, v in record.items() if isinstance(v, (int, float))}, step=self.progress.epoch)
        if on_epoch is not None:
            on_epoch(self.progress.epoch, record)

    def _evaluation_due(self) -> bool:
        """At an epoch end: after EVAL_STEPS steps since the last evaluation, and before any stop."""
        progress = self.progress
        return (
            progress.step - progress.evaluated_step >= EVAL_STEPS
            or progress.epoch >= self.settings.epochs
            or self._out_of_time()
        )

    def _watched(self) -> list[str]:
        """The held-out metrics of the trained losses (IIA only with an IIT loss, strict IIA only
        with a strict loss: a behaviour-only model is judged on accuracy)."""
        return self.settings.watched_metrics()

    def _stop_early(self) -> bool:
        """The last evaluation may end training (`may_stop_early`); its ground truth is checked
        here when a run resumed from a checkpoint made before checks were recorded lacks it."""
        history = self.progress.history
        if not self.settings.early_stop or not history:
            return False
        self._check_at_bar(history[-1])
        return may_stop_early(history[-1], self._watched(), self.settings.target, self._circuit_trained())

    def _circuit_trained(self) -> bool:
        """Whether the strict loss trains the circuit, so that stopping waits for its check: an IIT
        or behaviour-only model (`eval realism`'s comparisons) is not trained to keep it faithful."""
        return self.settings.strict_weight > 0

    def _check_at_bar(self, record: dict[str, Any]) -> None:
        """Adds the ground-truth check to the latest evaluation record when its watched metrics
        reached the target (with early stopping on and the circuit trained, and once): the only
        records the stopping rule reads it from, so runs below the bar never pay for it."""
        at_bar = metrics_at_bar(record, self._watched(), self.settings.target)
        if not (self.settings.early_stop and self._circuit_trained() and at_bar) or GROUND_TRUTH_KEY in record:
            return
        if self._checked_model is None:
            self._checked_model = self.model_in_training()
        self.model.eval()
        check = task_family(self.task.case).check_ground_truth(*self._checked_model, ablations=(STOPPING_ABLATION,))
        self.model.train()
        record[GROUND_TRUTH_KEY] = {key: check[STOPPING_ABLATION][key] for key in ("faithful", "minimal", "changed_fraction", "redundant")}

    def _decay_on_plateau(self) -> None:
        """For a task with a plateau rule (`SiitTask.lr_plateau`: patience, factor and optionally a
        floor): when the worst watched metric of the last `patience` evaluations, all at the current
        learning rate, beat none of the evaluations before them, and has once reached the floor, the
        learning rate is multiplied by `factor`. Each evaluation records its learning rate, so a
        resumed run decays exactly as it would have."""
        if self.task.lr_plateau is None:
            return
        patience, factor, *floor = self.task.lr_plateau
        history, lr = self.progress.history, self.optimizer.param_groups[0]["lr"]
        history[-1]["lr"] = lr
        if plateaued(history, self._watched(), lr, patience, *floor):
            for group in self.optimizer.param_groups:
                group["lr"] = lr * factor

    def _out_of_time(self) -> bool:
        return self.settings.max_seconds is not None and self._elapsed() >= self.settings.max_seconds

    def _elapsed(self) -> float:
        """Seconds this run has trained (evaluation included), over every session."""
        return self.seconds_before + time.perf_counter() - self.session_start

    def _start_epoch(self, generator_state: torch.Tensor | None) -> torch.Tensor:
        """The epoch's input order; the generator is restored to `generator_state` when resuming mid-epoch."""
        seed = int(np.random.SeedSequence([self.settings.seed, self.progress.epoch]).generate_state(1)[0])
        self.generator.manual_seed(seed)
        order = torch.randperm(len(self.train), generator=self.generator)
        if self.task.pair_order is not None:
            order = self.task.pair_order(order, self.generator)
        if generator_state is not None:
            self.generator.set_state(generator_state)
        return order

    def _step(self, batch_index: torch.Tensor) -> dict[str, float]:
        settings, objective = self.settings, self.objective
        tokens = self.train[batch_index.to(self.train.device)]
        rows = len(tokens)
        source_index = torch.arange(rows, device=tokens.device).roll(-1)
        node_index = None
        if settings.iit_weight > 0:
            node_index = torch.randint(objective.n_interventions, (rows,), generator=self.generator).to(tokens.device)
        strict = objective.strict_masks(rows, self.generator) if settings.strict_weight > 0 else None
        terms = objective.losses(objective.run(tokens, source_index, node_index, strict))
        total = total_loss(terms, settings)
        self.optimizer.zero_grad()
        total.backward()
        if self.task.max_grad_norm is not None:
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.task.max_grad_norm)
        self.optimizer.step()
        return {name: float(value.detach()) for name, value in terms.items()} | {"total": float(total.detach())}

    def _evaluate(self) -> dict[str, Any]:
        """Held-out metrics now and mean losses since the last evaluation, appended to the history."""
        self.model.eval()
        metrics = self.heldout.metrics()
        self.model.train()
        progress = self.progress
        record = {
            "epoch": progress.epoch,
            "step": progress.step,
            "seconds": round(self._elapsed(), 3),
            **{f"loss_{name}": total / progress.loss_steps for name, total in progress.loss_sums.items()},
            **metrics,
        }
        progress.evaluated_step = progress.step
        progress.loss_sums, progress.loss_steps = {}, 0
        progress.history.append(record)
        self._check_at_bar(record)
        self._decay_on_plateau()
        return record

    def _save_checkpoint(self) -> None:
        self.progress.settings = dataclasses.asdict(self.settings)
        self.progress.seconds = self._elapsed()
        Checkpoint(
            model_state={k: v.detach().cpu() for k, v in self.model.state_dict().items()},
            optimizer_state=self.optimizer.state_dict(),
            generator_state=self.generator.get_state(),
            progress=self.progress,
        ).save(self.directory / CHECKPOINT_FILE)


def metrics_at_bar(record: dict[str, Any], watched: list[str], target: float) -> bool:
    """Whether every watched held-out metric of an evaluation record reached `target`."""
    return all(record[m] >= target for m in watched)


def may_stop_early(record: dict[str, Any], watched: list[str], target: float, circuit_trained: bool = True) -> bool:
    """The early-stopping rule on an evaluation record: every watched metric at `target` and, for
    a run whose strict loss trains the circuit, the record's ground-truth check (`GROUND_TRUTH_KEY`,
    made at the bar) passed. A record at the bar whose check failed keeps training;
    `training_on_reason` says why."""
    if not metrics_at_bar(record, watched, target):
        return False
    check = record.get(GROUND_TRUTH_KEY)
    return not circuit_trained or (check is not None and not ground_truth_problems(check))


def training_on_reason(record: dict[str, Any]) -> str:
    """Why training went on past an evaluation at the bar ('' when it did not check or passed)."""
    check = record.get(GROUND_TRUTH_KEY)
    return "" if check is None else "; ".join(ground_truth_problems(check))


def plateaued(history: list[dict[str, Any]], watched: list[str], lr: float, patience: int, floor: float = 0.0) -> bool:
    """Whether the last `patience` evaluations, all made at learning rate `lr`, each have a worst
    watched metric no better than the best worst metric before them, and that best has reached
    `floor` (a rule that should wait until the model is near the bar: below it, metrics that swing
    from epoch to epoch would lower the rate while the model is still learning)."""
    if len(history) <= patience or any(record.get("lr") != lr for record in history[-patience:]):
        return False
    worst = [min(record[m] for m in watched) for record in history]
    best_before = max(worst[:-patience])
    return best_before >= floor and max(worst[-patience:]) <= best_before


@contextlib.contextmanager
def _interrupt_flag() -> Iterator[threading.Event]:
    """Turns Ctrl-C into a flag checked between optimizer steps, so a checkpoint never holds half a step."""
    flag = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield flag
        return
    previous = signal.signal(signal.SIGINT, lambda *_: flag.set())
    try:
        yield flag
    finally:
        signal.signal(signal.SIGINT, previous)


def _meta(task: SiitTask, settings: SiitSettings, progress: TrainingProgress, stopped: StopReason, device: str) -> TrainingMeta:
    history = progress.history
    return TrainingMeta(
        case_id=task.case,
        run_id=settings.run_id(),
        model_id=str(ModelId.siit(task.case, settings.run_id())),
        weights=settings.loss_weights(),
        seed=settings.seed,
        settings=settings,
        device=device,
        stopped=stopped,
        epochs=progress.epoch,
        steps=progress.step,
        train_seconds=round(progress.seconds, 3),
        metrics={name: history[-1][name] for name in HELD_OUT_METRICS},
        losses={k: v for k, v in history[-1].items() if k.startswith("loss_")},
        history=history,
        split={
            "train_inputs": len(task.split.train),
            "test_inputs": len(task.split.test),
            "fingerprint": task.split.fingerprint(),
            "by_draws": task.split.by_draws,
        },
        correspondence=task.correspondence.to_dict(),
        hl_model=task.hl_model,
        recipe={"init_std": task.init_std, "max_grad_norm": task.max_grad_norm, "lr_plateau": task.lr_plateau},
        ll_config=task.ll_config.to_dict(),
        versions=library_versions(),
    )
