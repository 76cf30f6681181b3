"""The files of a SIIT run, all written atomically through `storage.files`.

`<output_dir>/ll_models/case-003/<run-id>/` (`ll_models/<task>/<run-id>/` for a named task) holds, once training has finished:
  model.safetensors   the LL weights (CircuitTransformer / TransformerLens names)
  config.json         the LL TransformerConfig
  ground_truth.json   the LL ground truth per ablation, from the training correspondence
  meta.json           settings, losses and metrics per epoch, held-out metrics, seed, versions,
                      correspondence, split fingerprint, the sha256 of the three files above
                      (written last: it marks a finished run)
and, from the first checkpoint on, checkpoint.safetensors: model, optimizer, random-generator
state and progress in ONE file, so a kill can never leave a checkpoint whose parts disagree.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import torch

from circuits_benchmark.choices import StopReason
from circuits_benchmark.circuits.circuit import Circuit
from circuits_benchmark.models.model_id import ModelId
from circuits_benchmark.models.transformer import CircuitTransformer
from circuits_benchmark.training.correspondence import Correspondence
from circuits_benchmark.training.settings import SiitSettings
from circuits_benchmark.training.task_keys import SIIT_RELEASE_DIR, CaseKey, case_folder
from circuits_benchmark.storage.files import atomic_save_tensors, atomic_write_json, load_tensors, read_json, sha256_of

LL_MODELS_DIR = "ll_models"
MODEL_FILE = "model.safetensors"
CONFIG_FILE = "config.json"
GROUND_TRUTH_FILE = "ground_truth.json"
META_FILE = "meta.json"
CHECKPOINT_FILE = "checkpoint.safetensors"
# The files whose sha256 a run's meta.json records, checked whenever the run is loaded.
CHECKSUMMED_FILES = (MODEL_FILE, CONFIG_FILE, GROUND_TRUTH_FILE)
# A release's manifest (see `training.release`), beside its released task folders.
MANIFEST_FILE = "manifest.json"


# A released model (see `training.release`) is read by the `siit:` loader under this run id.
RELEASE_RUN_ID = "release"


def release_case_dir(case: CaseKey, release_dir: Path = SIIT_RELEASE_DIR) -> Path:
    """The folder of one released model in a release (the project's, or a family's own: `TaskFamily.release_dir`)."""
    return release_dir / case_folder(case)


def case_runs_dir(output_dir: Path, case: CaseKey) -> Path:
    """The folder holding every SIIT run of a case."""
    return output_dir / LL_MODELS_DIR / case_folder(case)


def run_dir(output_dir: Path, case: CaseKey, run_id: str) -> Path:
    """The folder of one SIIT run."""
    return case_runs_dir(output_dir, case) / run_id


@dataclasses.dataclass
class TrainingProgress:
    """Where a run stands: the epoch and batch to do next, optimizer steps taken (and at the last
    evaluation), seconds trained over every session, loss sums since the last evaluation, and the
    history of evaluations (one record per evaluation: epoch, step, seconds, mean losses, held-out
    metrics). `settings` is set when it is checkpointed."""

    epoch: int = 0
    batch: int = 0
    step: int = 0
    evaluated_step: int = 0
    seconds: float = 0.0
    loss_sums: dict[str, float] = dataclasses.field(default_factory=dict)
    loss_steps: int = 0
    history: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    settings: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "TrainingProgress":
        return cls(**data)


@dataclasses.dataclass
class TrainingMeta:
    """What a finished run was and achieved (its meta.json).

    Attributes:
        case_id, run_id, model_id: which run. weights: the loss weights. seed, settings, device:
            how it was trained.
        stopped: why training ended ("early stop", "epoch limit", "time limit"). epochs, steps,
            train_seconds: how long it trained.
        metrics: held-out accuracy, iia and strict_iia; losses: the last mean losses;
            history: every evaluation (None in a released model, which leaves it out).
        split: train/test sizes and the split's fingerprint. correspondence, hl_model, ll_config:
            the high-level model, the low-level shape and how they correspond. versions: libraries.
        ground_truth_checks: ablation -> the ground-truth check of the finished model (None until
            checked). source_run_id: for a released model, the run it was copied from.
        recipe: what the case's task fixes beyond the settings (the fresh weights' standard
            deviation, gradient clipping); None in runs made before it was recorded.
        sha256: file name -> sha256 of the run's `CHECKSUMMED_FILES` as written, checked on every
            load; None in runs made before it was recorded.
    """

    case_id: CaseKey
    run_id: str
    model_id: str
    weights: dict[str, float]
    seed: int
    settings: SiitSettings
    device: str
    stopped: StopReason
    epochs: int
    steps: int
    train_seconds: float
    metrics: dict[str, float]
    losses: dict[str, float]
    split: dict[str, Any]
    correspondence: dict[str, Any]
    hl_model: dict[str, Any]
    ll_config: dict[str, Any]
    versions: dict[str, str]
    history: list[dict[str, Any]] | None = None
    ground_truth_checks: dict[str, dict[str, Any]] | None = None
    source_run_id: str | None = None
    recipe: dict[str, Any] | None = None
    sha256: dict[str, str] | None = None

    def to_dict(self) -> dict[str, Any]:
        """The meta.json form; fields that are None are left out."""
        return {key: value for key, value in dataclasses.asdict(self).items() if value is not None}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "TrainingMeta":
        """Raises KeyError or TypeError for a meta.json that lacks a field or has an unknown one."""
        return cls(**(data | {"stopped": StopReason.parse(data["stopped"]), "settings": SiitSettings(**data["settings"])}))

    @classmethod
    def read(cls, directory: Path) -> "TrainingMeta":
        """The meta.json in a run folder; raises StorageError, KeyError or TypeError when unreadable."""
        return cls.from_dict(read_json(directory / META_FILE))


@dataclasses.dataclass
class TrainedModel:
    """A finished SIIT run: read back from disk (`siit_models.load_run`), or held by the trainer."""

    case_id: CaseKey
    run_id: str
    directory: Path
    model: CircuitTransformer
    ground_truths: dict[str, Circuit]
    correspondence: Correspondence
    meta: TrainingMeta

    @property
    def model_id(self) -> str:
        return str(ModelId.siit(self.case_id, self.run_id))


@dataclasses.dataclass
class Checkpoint:
    """Everything needed to continue training exactly where it stopped.

    The generator state makes the rest of the epoch draw what it would have drawn.
    """

    model_state: dict[str, torch.Tensor]
    optimizer_state: dict[str, Any]
    generator_state: torch.Tensor
    progress: TrainingProgress

    def save(self, path: Path) -> None:
        """Writes the checkpoint as one safetensors file, atomically."""
        tensors = {f"model.{name}": value for name, value in self.model_state.items()}
        for index, state in self.optimizer_state["state"].items():
            for key, value in state.items():
                tensors[f"optim.{index}.{key}"] = torch.as_tensor(value)
        tensors["generator"] = self.generator_state
        header = {"progress": self.progress.to_dict(), "param_groups": self.optimizer_state["param_groups"]}
        tensors["header_json"] = torch.tensor(list(json.dumps(header).encode()), dtype=torch.uint8)
        atomic_save_tensors(path, tensors)

    @classmethod
    def load(cls, path: Path) -> "Checkpoint":
        """Reads a checkpoint; raises StorageError when it is missing or corrupt."""
        tensors = load_tensors(path)
        header = json.loads(bytes(tensors.pop("header_json").tolist()).decode())
        model_state: dict[str, torch.Tensor] = {}
        optimizer_states: dict[int, dict[str, torch.Tensor]] = {}
        for name, value in tensors.items():
            kind, _, rest = name.partition(".")
            if kind == "model":
                model_state[rest] = value
            elif kind == "optim":
                index, _, key = rest.partition(".")
                optimizer_states.setdefault(int(index), {})[key] = value
        return cls(
            model_state=model_state,
            optimizer_state={"state": optimizer_states, "param_groups": header["param_groups"]},
            generator_state=tensors["generator"],
            progress=TrainingProgress.from_dict(header["progress"]),
        )


def write_run(
    directory: Path, model: CircuitTransformer, ground_truths: dict[str, Circuit], meta: TrainingMeta
) -> None:
    """Writes a finished run's model, config, ground truth and meta (meta last, recording in
    `meta.sha256` the sha256 of the files before it)."""
    atomic_save_tensors(directory / MODEL_FILE, model.state_dict())
    atomic_write_json(directory / CONFIG_FILE, model.cfg.to_dict())
    atomic_write_json(directory / GROUND_TRUTH_FILE, {a: c.to_dict() for a, c in ground_truths.items()})
    meta.sha256 = {name: sha256_of(directory / name) for name in CHECKSUMMED_FILES}
    atomic_write_json(directory / META_FILE, meta.to_dict())

