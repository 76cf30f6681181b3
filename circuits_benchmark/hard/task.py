"""A hard task prepared for SIIT (`training.task.SiitTask`) and around a trained model
(`models.benchmark_model.BenchmarkModel`).

The LL model is two layers of `high_level.n_heads` heads (2 to 5), d_model 32, d_head 32 // heads, d_mlp 128. The inputs are
10,000 draws (the rare token in `RARE_TRAINING_SHARE` of them), de-duplicated, 20% (at most
1,000) held out; only the output positions (the task's answers and the side outputs) are trained, and the same
are the positions discovery methods measure (`metric_positions`); the ground truth and its
checks concern the task's answers only (`answer_positions`).
"""

from __future__ import annotations

import math

import numpy as np
import torch

from circuits_benchmark.choices import Ablation
from circuits_benchmark.hard import high_level, program
from circuits_benchmark.hard.program import HardSpec
from circuits_benchmark.models.benchmark_model import BenchmarkModel
from circuits_benchmark.models.transformer import CircuitTransformer, TransformerConfig
from circuits_benchmark.training.correspondence import Correspondence
from circuits_benchmark.training.data_split import MAX_TEST_INPUTS, POOL_DRAWS, TEST_FRACTION, InputSplit
from circuits_benchmark.training.task import SiitTask

D_MODEL = 32


def ll_config(spec: HardSpec) -> TransformerConfig:
    """The LL model's shape (module docstring)."""
    n_heads = high_level.n_heads(spec)
    return TransformerConfig(
        n_layers=2, n_heads=n_heads, d_model=D_MODEL, d_head=max(1, D_MODEL // n_heads), d_mlp=4 * D_MODEL,
        d_vocab=len(program.INPUT_TOKENS), d_vocab_out=len(program.OUTPUT_CLASSES), n_ctx=program.LENGTH + 1, causal=True,
    )


def metric_positions(spec: HardSpec) -> torch.Tensor:
    """bool [pos]: every output position (the task's answers and the side outputs): what the model
    is trained on and what discovery methods measure."""
    return _positions(spec.output_positions)


def answer_positions(spec: HardSpec) -> torch.Tensor:
    """bool [pos]: the task's answer positions, where the ground truth is checked."""
    return _positions(spec.answer_positions)


def _positions(chosen: tuple[int, ...]) -> torch.Tensor:
    positions = torch.zeros(program.LENGTH + 1, dtype=torch.bool)
    positions[list(chosen)] = True
    return positions


def training_split(spec: HardSpec, seed: int) -> InputSplit:
    """The distinct inputs of `POOL_DRAWS` draws, a `TEST_FRACTION` of them held out."""
    rng = np.random.default_rng(seed)
    share = program.RARE_TRAINING_SHARE if spec.rare else 0.0
    drawn = program.sample_tokens(spec, rng, POOL_DRAWS, rare_share=share).numpy()
    unique = np.unique(drawn, axis=0)[rng.permutation(len(np.unique(drawn, axis=0)))]
    n_test = min(MAX_TEST_INPUTS, math.ceil(TEST_FRACTION * len(unique)))
    tokens = torch.tensor(unique, dtype=torch.long)
    return InputSplit(train=tokens[n_test:], test=tokens[:n_test])


def siit_task(key: str, spec: HardSpec, seed: int) -> SiitTask:
    """The task named `key` with knobs `spec`, for a run with `seed`."""
    truth = high_level.ll_ground_truth(spec)
    return SiitTask(
        case=key,
        high_level=lambda device: high_level.HardCausalModel(spec),
        ll_config=ll_config(spec),
        correspondence=Correspondence(high_level.correspondence(spec)),
        ll_ground_truths={Ablation.RESAMPLE: truth, Ablation.ZERO: truth},
        split=training_split(spec, seed),
        targeted=metric_positions(spec),
        hl_model={"name": key, "spec": spec.to_dict(), "nodes": list(high_level.node_names(spec))},
    )


def benchmark_model(model_id: str, spec: HardSpec, model: CircuitTransformer) -> BenchmarkModel:
    """A trained (and edited) hard model with its task: inputs at the benchmark's rare share,
    the answer positions, the ground truth and the correspondence."""
    truth = high_level.ll_ground_truth(spec)
    return BenchmarkModel(
        model_id=model_id,
        model=model,
        sample_tokens=lambda rng, count: program.sample_tokens(spec, rng, count),
        metric_positions=metric_positions(spec),
        ground_truths={Ablation.RESAMPLE: truth, Ablation.ZERO: truth},
        correspondence=high_level.correspondence(spec),
    )
