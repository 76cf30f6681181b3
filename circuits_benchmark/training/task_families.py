"""The registry of SIIT task families: what can be trained with SIIT, and how.

A task is anything a SIIT run trains towards; its key is a tracr case id (an int) or a name
("ioi", a hard-family task, a user's). A family groups tasks that are built the same way and owns
everything that differs between them:

- `build_task(key, output_dir, seed)`: the HL model, the LL shape, the correspondence, the data
  and its split (a `training.task.SiitTask`);
- `recipe`: the default settings of its training runs, so that `train_siit(key)` from Python,
  `./main.py train iit -i <key>` and a family's own command train the same thing (`recipe_for`:
  a task's own, where the family gives some tasks their own);
- `release_bar`: what a trained model must reach on held-out inputs to be released;
- `benchmark_model(run, output_dir)`: the task around a trained model (its inputs and metric
  positions), which the `siit:` loader returns;
- `ground_truth_current(run, output_dir)`: whether a trained model's stored ground truth is still
  its task's (a stale one is warned about, and never released);
- `check_ground_truth(run, output_dir)`: the checks of a finished model's ground truth (stored in
  meta.json; their "redundant" edges are scored as don't-care), and
  `release_ground_truth_checks(run, output_dir)`: those a release judges it by (by default the
  stored ones; a family whose checks differ from the standard ones re-runs its own);
- `tokenizer(key, output_dir)`.

Families register themselves with `register_task_family` when their module is imported. The
built-in ones are imported the first time the registry is asked (`builtins.register_builtins`); a plug-in
(`--plugin my_tasks.py`) registers its own, which `train iit`, `release build`, `run` and `bench`
then accept like the built-in ones.
"""

from __future__ import annotations

import abc
import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

from circuits_benchmark.builtins import register_builtins
from circuits_benchmark.errors import BenchmarkError
from circuits_benchmark.training.task_keys import SIIT_RELEASE_DIR, CaseKey

if TYPE_CHECKING:
    from circuits_benchmark.models.benchmark_model import BenchmarkModel
    from circuits_benchmark.models.tokenizer import CaseTokenizer
    from circuits_benchmark.training.artifacts import TrainedModel
    from circuits_benchmark.training.task import SiitTask
    from circuits_benchmark.training.settings import SiitSettings

# The bar of the tracr cases' release: accuracy, IIA and strict IIA on held-out inputs.
DEFAULT_RELEASE_BAR = 0.995

@dataclasses.dataclass(frozen=True)
class Recipe:
    """A family's training defaults: `SiitSettings` fields that differ from the dataclass's own
    (the target defaults to the family's release bar) and torch's CPU threads."""

    settings: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    threads: int = 1


class TaskFamily(abc.ABC):
    """A family of SIIT tasks (see the module docstring). Subclasses set `name` and implement
    `owns`, `build_task`, `benchmark_model`, `ground_truth_current` and `tokenizer`."""

    name: str
    recipe: Recipe = Recipe()
    release_bar: float = DEFAULT_RELEASE_BAR
    # Whether the task has a compiled (tracr) model of its own, and so compressed ones.
    compiled: bool = False
    # Whether `bench` covers its tasks when no -i is given.
    in_default_bench: bool = True
    # Inputs per run of its models in the quick bench (`bench --suite quick`, the default) where the
    # 100 of the other suites would not fit in minutes; None: 100 there too.
    quick_examples: int | None = None
    # Where its released models ship (`training.release`): the project's release, or a plug-in's own.
    release_dir: Path = SIIT_RELEASE_DIR

    def keys(self) -> list[CaseKey]:
        """The named tasks of the family (what `-i` accepts by name; `bench`'s default; the quick
        suite takes the first trained ones). The tracr family's are the case library's ids,
        selected by number instead."""
        return []

    def owns(self, key: CaseKey) -> bool:
        """Whether `key` names one of the family's tasks."""
        return key in self.keys()

    @abc.abstractmethod
    def build_task(self, key: CaseKey, output_dir: Path, seed: int) -> "SiitTask":
        """The task prepared for training with `seed` (its split depends on it); raises
        BenchmarkError when the task cannot be trained."""

    @abc.abstractmethod
    def benchmark_model(self, run: "TrainedModel", output_dir: Path) -> "BenchmarkModel":
        """The task around a trained model: its network (`run.model`, or a copy the task edits),
        inputs, metric positions, defined positions (the ground truth is replaced by the run's).
        Raises BenchmarkError for a model trained on an earlier version of the task."""

    @abc.abstractmethod
    def ground_truth_current(self, run: "TrainedModel", output_dir: Path) -> bool:
        """Whether the run's stored ground truth is still the one its task implies now."""

    @abc.abstractmethod
    def tokenizer(self, key: CaseKey, output_dir: Path) -> "CaseTokenizer":
        """The task's tokenizer."""

    def check_ground_truth(
        self, run: "TrainedModel", model: "BenchmarkModel", ablations: tuple[str, ...] | None = None
    ) -> dict[str, dict[str, Any]]:
        """Ablation -> the check of a finished model's ground truth (`run`, as the benchmark model
        `model` around its task; or of one in training, which early stopping checks under
        `ablations` only), each with at least faithful, minimal, changed_fraction and redundant
        (parts found unnecessary). By default the standard checks (`training.ground_truth_checks`,
        under every trained ablation unless `ablations` says) on inputs of the run's seed."""
        from circuits_benchmark.training.ground_truth_checks import TRAINED_ABLATIONS, check_trained_ground_truth

        return check_trained_ground_truth(model, seed=run.meta.seed, ablations=ablations or TRAINED_ABLATIONS)

    def release_ground_truth_checks(self, run: "TrainedModel", model: "BenchmarkModel") -> dict[str, dict[str, Any]]:
        """The checks a release judges a run by: those stored with it, computed when it has none
        (trained before the checks existed)."""
        return run.meta.ground_truth_checks or self.check_ground_truth(run, model)

    def recipe_for(self, key: CaseKey | None) -> Recipe:
        """The recipe of one task (by default the family's own; None: the family's)."""
        return self.recipe

    def settings(self, key: CaseKey | None = None, **overrides: Any) -> "SiitSettings":
        """The recipe of task `key` (`recipe_for`) with `overrides` (SiitSettings fields) applied;
        raises BenchmarkError for an unknown field or a bad value."""
        from circuits_benchmark.training.settings import SiitSettings

        try:
            settings = SiitSettings(**{"target": self.release_bar, **self.recipe_for(key).settings, **overrides})
        except TypeError as error:
            raise BenchmarkError(f"unknown training setting: {error}") from None
        settings.validate()
        return settings

    def train_command(self, key: CaseKey) -> str:
        """The command that trains the task's model."""
        return f"./main.py train iit -i {key}"


_FAMILIES: dict[str, TaskFamily] = {}


def register_task_family(family: TaskFamily) -> TaskFamily:
    """Registers a family (a new one, or a replacement of one with the same name); returns it."""
    _FAMILIES[family.name] = family
    return family


def task_families() -> list[TaskFamily]:
    """Every registered family, the built-in ones first."""
    register_builtins()
    return list(_FAMILIES.values())


def named_task_keys() -> list[str]:
    """Every task named rather than numbered, family by family."""
    return [str(key) for family in task_families() for key in family.keys() if isinstance(key, str)]


def task_family(key: CaseKey) -> TaskFamily:
    """The family owning `key`; raises BenchmarkError naming the tasks there are."""
    for family in task_families():
        if family.owns(key):
            return family
    known = ", ".join(["a tracr case id", *named_task_keys()])
    raise BenchmarkError(f"no SIIT task {key!r}: use {known}")


def build_task(key: CaseKey, output_dir: Path, seed: int) -> "SiitTask":
    """The task `key` names, built by its family for `seed`."""
    return task_family(key).build_task(key, output_dir, seed)


def parse_task_keys(text: str | None) -> list[CaseKey]:
    """The `-i` selection of trained tasks: tracr cases as `cases.parse_case_ids` reads them
    (`3`, `1-10`, `suite`; none given: every case), and named tasks among them (`-i ioi`,
    `-i 3,ioi`) and a family's name for every task it names (`-i hard`), which come after the
    cases. Raises BenchmarkError for an unknown part."""
    from circuits_benchmark.cases import parse_case_ids

    families = {family.name: [str(key) for key in family.keys()] for family in task_families() if family.keys()}
    parts = [key for part in (text or "").split(",") for key in families.get(part.strip(), [part.strip()])]
    known = named_task_keys()
    named = [part for part in parts if part in known]
    unknown = [part for part in parts if part not in named and not _selects_cases(part)]
    if unknown:
        raise BenchmarkError(
            f"no task {unknown[0]!r}: use tracr case ids (3, 3,4,21, 1-10, all, suite), a family ({', '.join(families)}) "
            f"or one of the {len(known)} named tasks (`./main.py release list` shows the released ones)"
        )
    rest = ",".join(part for part in parts if part not in named)
    cases: list[CaseKey] = parse_case_ids(rest) if rest or not named else []
    return cases + list(dict.fromkeys(named))


def _selects_cases(part: str) -> bool:
    """Whether a part of `-i` is written as tracr cases are (`3`, `1-10`, `all`, `suite`), for
    `cases.parse_case_ids` to read."""
    return part in ("", "all", "suite") or all(bound.strip().isdigit() for bound in part.split("-"))
