"""An example plug-in: a SIIT task of one's own, its high-level model written in Python.

The task `previous-token`: at every position from the second token on, output the token before it.
Its high-level model has one node, `previous` (the token one position back), realised by one head
of a fresh one-layer transformer. Under resample (or mean) ablation the head's query and key carry
only positions, which every input shares, so the ground truth is the head's value input and its
output: embed -> a0.h0 (v) -> output.

    ./main.py --plugin examples/user_siit_task.py train iit -i previous-token
    ./main.py --plugin examples/user_siit_task.py release build -i previous-token -o results
    ./main.py --plugin examples/user_siit_task.py run acdc -i previous-token
    ./main.py --plugin examples/user_siit_task.py bench -i previous-token --methods acdc,eap

Its release goes to `examples/releases/` beside this file (`release_dir`), not into the project's.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from circuits_benchmark.cases import BOS, PAD
from circuits_benchmark.circuits.circuit import Circuit
from circuits_benchmark.models.benchmark_model import BenchmarkModel
from circuits_benchmark.models.tokenizer import CaseTokenizer
from circuits_benchmark.models.transformer import TransformerConfig
from circuits_benchmark.training.artifacts import TrainedModel
from circuits_benchmark.training.correspondence import Correspondence
from circuits_benchmark.training.data_split import InputSplit
from circuits_benchmark.training.task import SiitTask
from circuits_benchmark.training.task_families import CaseKey, Recipe, TaskFamily, register_task_family

KEY = "previous-token"
LETTERS = ["a", "b", "c", "d"]
LENGTH = 4  # tokens after BOS
TOKENIZER = CaseTokenizer(input_tokens=[BOS, PAD, *LETTERS], output_classes=list(LETTERS), max_seq_len=LENGTH + 1)
FIRST_LETTER = 2  # the id of LETTERS[0]


class PreviousToken:
    """The HL model: node `previous` holds the token one position back (BOS where there is none)."""

    node_names = ("previous",)

    def run(self, tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        previous = torch.cat([tokens[:, :1], tokens[:, :-1]], dim=1)
        return self._output(previous), previous.unsqueeze(0)

    def interchange(self, tokens: torch.Tensor, node_index: torch.Tensor, source_values: torch.Tensor) -> torch.Tensor:
        return self._output(source_values[0])  # the one node is the only thing the output reads

    @staticmethod
    def _output(previous: torch.Tensor) -> torch.Tensor:
        return F.one_hot((previous - FIRST_LETTER).clamp(min=0), len(LETTERS)).float()


def ground_truth(ablation: str = "resample") -> Circuit:
    """Under zero ablation the head's query and key lose the positions too, so they belong to it."""
    inputs = ("q", "k", "v") if ablation == "zero" else ("v",)
    return Circuit([*(("embed", f"a0.h0.{slot}") for slot in inputs), ("a0.h0", "output")], granularity="qkv")


def targeted_positions() -> torch.Tensor:
    """Positions 2 and on: the first token has no token before it."""
    positions = torch.zeros(LENGTH + 1, dtype=torch.bool)
    positions[2:] = True
    return positions


def every_input() -> torch.Tensor:
    return TOKENIZER.encode([list(letters) for letters in itertools.product(LETTERS, repeat=LENGTH)])


def sample_tokens(rng: np.random.Generator, count: int) -> torch.Tensor:
    return TOKENIZER.encode(rng.choice(LETTERS, size=(count, LENGTH)).tolist())


class PreviousTokenTasks(TaskFamily):
    """A family of one task, trained with a faster learning rate than the tracr cases'."""

    name = "previous-token-tasks"
    recipe = Recipe(settings={"lr": 1e-2, "epochs": 200})
    release_dir = Path(__file__).resolve().parent / "releases"

    def keys(self) -> list[CaseKey]:
        return [KEY]

    def build_task(self, key: CaseKey, output_dir: Path, seed: int) -> SiitTask:
        inputs = every_input()
        order = torch.randperm(len(inputs), generator=torch.Generator().manual_seed(seed))
        held_out = len(inputs) // 5
        return SiitTask(
            case=key,
            high_level=lambda device: PreviousToken(),
            ll_config=TransformerConfig(
                n_layers=1, n_heads=2, d_model=16, d_head=8, d_mlp=32, d_vocab=len(TOKENIZER.input_tokens),
                d_vocab_out=len(LETTERS), n_ctx=LENGTH + 1, causal=True,
            ),
            correspondence=Correspondence({"previous": ("a0.h0",)}),
            ll_ground_truths={"resample": ground_truth("resample"), "zero": ground_truth("zero")},
            split=InputSplit(train=inputs[order[held_out:]], test=inputs[order[:held_out]]),
            targeted=targeted_positions(),
            hl_model={"name": KEY},
        )

    def benchmark_model(self, run: TrainedModel, output_dir: Path) -> BenchmarkModel:
        return BenchmarkModel(
            model_id=run.model_id, model=run.model, sample_tokens=sample_tokens,
            metric_positions=targeted_positions(), ground_truths=run.ground_truths,
        )

    def ground_truth_current(self, run: TrainedModel, output_dir: Path) -> bool:
        return run.ground_truths["resample"] == ground_truth()

    def tokenizer(self, key: CaseKey, output_dir: Path) -> CaseTokenizer:
        return TOKENIZER


register_task_family(PreviousTokenTasks())
