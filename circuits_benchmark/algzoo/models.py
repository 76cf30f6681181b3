"""One AlgZoo-style model: its name, its network, its files, and the registry loader.

A model is named by its grid cell and run: `<task>-<arch>-h<hidden>-n<len>-<run>`, where run is
`s<seed>` for a trained model and `handbuilt` for one built by hand. Its files live in
`<output_dir>/algzoo/<name>/`: `model.safetensors` (the weights of one model, unbatched) and
`model.json` (spec, parameter count, training record). The model id the registry loads is
`algzoo:<task>:<arch>:h<hidden>:n<len>[:<run>]`; without a run, the stored run with the best
validation score is used (AlgZoo keeps the best of its seeds too).
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

import numpy as np
import torch

from circuits_benchmark.algzoo.attention import export_transformer, transformer_weights
from circuits_benchmark.algzoo.handbuilt import handbuilt_weights
from circuits_benchmark.algzoo.rnn import ReluRNN
from circuits_benchmark.algzoo.tasks import DISTRIBUTION, Task, data_generator, get_task
from circuits_benchmark.errors import BenchmarkError
from circuits_benchmark.models.benchmark_model import BenchmarkModel
from circuits_benchmark.models.model_id import ModelId
from circuits_benchmark.paths import DEFAULT_RESULTS_DIR
from circuits_benchmark.models.transformer import CircuitTransformer
from circuits_benchmark.storage.files import atomic_save_tensors, atomic_write_json, load_tensors, read_json
from circuits_benchmark.models.registry import register_loader

ARCHS = ("rnn", "transformer")
HANDBUILT = "handbuilt"
_RUN = re.compile(r"^(s\d+|handbuilt)$")


@dataclasses.dataclass(frozen=True)
class ZooSpec:
    """Which model: a grid cell (task, architecture, hidden size, sequence length) and a run."""

    task: str
    arch: str
    hidden: int
    seq_len: int
    run: str = "s0"

    def __post_init__(self) -> None:
        task = get_task(self.task)
        if self.arch not in ARCHS:
            raise BenchmarkError(f"unknown AlgZoo architecture {self.arch!r}: use rnn or transformer")
        if self.arch != task.arch:
            raise BenchmarkError(
                f"task {self.task} has {task.inputs} inputs, which the {task.arch} reads: use --arch {task.arch}"
            )
        if self.hidden < 1:
            raise BenchmarkError(f"hidden size must be >= 1, not {self.hidden}")
        task.check_length(self.seq_len)
        if not _RUN.match(self.run):
            raise BenchmarkError(f"malformed AlgZoo run {self.run!r}: use s<seed> or handbuilt")

    @classmethod
    def for_seed(cls, task: str, arch: str, hidden: int, seq_len: int, seed: int) -> "ZooSpec":
        """The spec of the model trained from `seed`."""
        if seed < 0:
            raise BenchmarkError(f"seed must be >= 0, not {seed}")
        return cls(task, arch, hidden, seq_len, f"s{seed}")

    @property
    def task_def(self) -> Task:
        return get_task(self.task)

    @property
    def name(self) -> str:
        """Folder name and stable key: `2nd_argmax-rnn-h4-n3-s0`."""
        return f"{self.task}-{self.arch}-h{self.hidden}-n{self.seq_len}-{self.run}"

    @property
    def model_id(self) -> str:
        """The registry identifier: `algzoo:2nd_argmax:rnn:h4:n3:s0`."""
        return str(ModelId("algzoo", (self.task, self.arch, f"h{self.hidden}", f"n{self.seq_len}", self.run)))

    @property
    def cell(self) -> tuple[str, str, int, int]:
        return self.task, self.arch, self.hidden, self.seq_len

    @property
    def seed(self) -> int:
        """The training seed; raises BenchmarkError for a hand-built model."""
        if self.run == HANDBUILT:
            raise BenchmarkError(f"{self.name} is hand-built: it has no training seed")
        return int(self.run[1:])

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def parse_model_id(model_id: str) -> tuple[ZooSpec | None, tuple[str, str, int, int]]:
    """Parses `[algzoo:]<task>:<arch>:h<hidden>:n<len>[:<run>]` into (spec or None without a run, cell)."""
    parsed = ModelId.parse(model_id if model_id.startswith("algzoo:") else f"algzoo:{model_id}")
    parts = parsed.parts
    form = "algzoo:<task>:<arch>:h<hidden>:n<len>[:s<seed>|:handbuilt]"
    if len(parts) not in (4, 5) or not re.fullmatch(r"h\d+", parts[2]) or not re.fullmatch(r"n\d+", parts[3]):
        raise BenchmarkError(f"malformed AlgZoo model id {model_id!r}: use {form}")
    cell = (parts[0], parts[1], int(parts[2][1:]), int(parts[3][1:]))
    spec = ZooSpec(*cell, parts[4]) if len(parts) == 5 else ZooSpec(*cell)
    return (spec if len(parts) == 5 else None), cell


def parameter_count(task: str, arch: str, hidden: int, n: int) -> int:
    """The spec's formulas: RNN h + h^2 + out*h (out = n or 1); transformer 3*n*h + 8*h^2."""
    if arch == "transformer":
        return 3 * n * hidden + 8 * hidden ** 2
    return hidden + hidden ** 2 + get_task(task).n_outputs(n) * hidden


@dataclasses.dataclass
class ZooModel:
    """A trained or hand-built model with what it was trained with.

    Attributes:
        spec: which model.
        network: a one-model `ReluRNN`, or a `CircuitTransformer`.
        record: the training record from model.json ({} for a hand-built model).
    """

    spec: ZooSpec
    network: ReluRNN | CircuitTransformer
    record: dict[str, Any] = dataclasses.field(default_factory=dict)

    @torch.no_grad()
    def predict(self, inputs: torch.Tensor) -> torch.Tensor:
        """Logits [B, n] (distribution tasks) or values [B] (scalar tasks) for inputs [B, n]."""
        if isinstance(self.network, ReluRNN):
            out = self.network(inputs[None])[0]
        else:
            out = self.network(inputs)[:, -1]
        return out if self.spec.task_def.output == DISTRIBUTION else out[:, 0]

    def weights(self) -> dict[str, torch.Tensor]:
        """The weights of this one model, unbatched, by name (W_ih, W_hh, W_out or W_E, ...)."""
        if isinstance(self.network, ReluRNN):
            return {name: param[0].detach() for name, param in self.network.named_parameters()}
        return transformer_weights(self.network)

    def parameter_count(self) -> int:
        return sum(weight.numel() for weight in self.weights().values())

    def with_weights(self, weights: dict[str, torch.Tensor]) -> "ZooModel":
        """The same model with other weights (e.g. noisy ones), record kept."""
        return model_from_weights(self.spec, weights, self.record)


def model_from_weights(spec: ZooSpec, weights: dict[str, torch.Tensor], record: dict[str, Any] | None = None) -> ZooModel:
    """Builds the network of `spec` from one model's unbatched weights."""
    expected = parameter_count(*spec.cell)
    got = sum(weight.numel() for weight in weights.values())
    if got != expected:
        raise BenchmarkError(f"weights for {spec.name} hold {got} parameters, the architecture has {expected}")
    if spec.arch == "transformer":
        network: ReluRNN | CircuitTransformer = export_transformer(weights)
    else:
        network = ReluRNN(spec.hidden, [spec.task_def.n_outputs(spec.seq_len)])
        with torch.no_grad():
            for name, param in network.named_parameters():
                param.copy_(weights[name][None])
    return ZooModel(spec, network, dict(record or {}))


def zoo_dir(output_dir: Path) -> Path:
    """Where AlgZoo models, checkpoints and reports live."""
    return output_dir / "algzoo"


def save_zoo_model(model: ZooModel, output_dir: Path) -> Path:
    """Writes model.safetensors + model.json under `<output_dir>/algzoo/<name>/`; returns the folder."""
    folder = zoo_dir(output_dir) / model.spec.name
    weights = {name: weight.detach().cpu() for name, weight in model.weights().items()}
    atomic_save_tensors(folder / "model.safetensors", weights)
    atomic_write_json(
        folder / "model.json",
        {"spec": model.spec.to_dict(), "parameter_count": model.parameter_count(), "record": model.record},
    )
    return folder


def stored_record(spec: ZooSpec, output_dir: Path) -> dict[str, Any] | None:
    """The training record of a stored model, or None if it is not stored."""
    path = zoo_dir(output_dir) / spec.name / "model.json"
    return read_json(path)["record"] if path.exists() else None


def stored_specs(output_dir: Path) -> list[ZooSpec]:
    """Every trained model stored under `output_dir`, sorted by name."""
    specs = []
    for path in sorted(zoo_dir(output_dir).glob("*/model.json")):
        specs.append(ZooSpec(**read_json(path)["spec"]))
    return specs


def train_command(task: str, arch: str, hidden: int, seq_len: int, output_dir: Path) -> str:
    """The command line that trains one model (for messages that tell the user what to run)."""
    return f"./main.py train algzoo --task {task} --arch {arch} --hidden {hidden} --seq-len {seq_len} -o {output_dir}"


def load_zoo_model(model_id: str | ZooSpec, output_dir: Path = DEFAULT_RESULTS_DIR) -> ZooModel:
    """Loads a stored model, builds a hand-built one, or picks the best stored run of a cell.

    Raises BenchmarkError for a malformed id or a model that is not trained yet (naming the
    command that trains it), StorageError for corrupt files.
    """
    spec, cell = (model_id, model_id.cell) if isinstance(model_id, ZooSpec) else parse_model_id(model_id)
    if spec is None:
        runs = [s for s in stored_specs(output_dir) if s.cell == cell]
        if not runs:
            raise BenchmarkError(f"no trained AlgZoo model for {model_id} in {zoo_dir(output_dir)}: train it with {train_command(*cell, output_dir)}")
        spec = min(runs, key=lambda s: _badness(stored_record(s, output_dir) or {}, s))
    if spec.run == HANDBUILT:
        return model_from_weights(spec, handbuilt_weights(*spec.cell), {"handbuilt": True})
    folder = zoo_dir(output_dir) / spec.name
    if not (folder / "model.json").exists():
        command = train_command(*spec.cell, output_dir) + f" --seed {spec.seed}"
        raise BenchmarkError(f"AlgZoo model {spec.name} is not trained in {zoo_dir(output_dir)}: train it with {command}")
    info = read_json(folder / "model.json")
    return model_from_weights(spec, load_tensors(folder / "model.safetensors"), info["record"])


def _badness(record: dict[str, Any], spec: ZooSpec) -> float:
    """Lower is better: 1 - accuracy, or RMSE for scalar tasks (what picks the best stored run)."""
    score = record.get("validation", {}).get("value", float("nan"))
    if np.isnan(score):
        return float("inf")
    return score if spec.task_def.output != DISTRIBUTION else 1.0 - score


@register_loader("algzoo")
def load_zoo_benchmark_model(model_id: ModelId, output_dir: Path) -> BenchmarkModel:
    """The registry's loader of `algzoo:` ids: AlgZoo transformers (the RNNs are not CircuitTransformers)."""
    model = load_zoo_model(str(model_id), output_dir)
    if model.spec.arch != "transformer":
        raise BenchmarkError(
            f"{model.spec.model_id} is an RNN, not a transformer: discovery runs on AlgZoo transformers only; "
            "load RNNs with circuits_benchmark.algzoo.models.load_zoo_model"
        )
    task, n = model.spec.task_def, model.spec.seq_len

    def sample(rng: np.random.Generator, count: int) -> torch.Tensor:
        return task.sample_inputs(n, count, data_generator("registry", int(rng.integers(2**62))))

    positions = torch.zeros(n, dtype=torch.bool)
    positions[-1] = True  # logits are read at the last position only
    return BenchmarkModel(
        model_id=model.spec.model_id, model=model.network, sample_tokens=sample,
        metric_positions=positions, ground_truths={},
    )
