"""`tracr:<case>`: a case's compiled model as a benchmark model (its inputs, metric positions,
defined positions and ground truths), registered as the loader of its kind."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from circuits_benchmark.compiler.compiled_case import CompiledCase
from circuits_benchmark.models.benchmark_model import BenchmarkModel
from circuits_benchmark.models.model_id import ModelId
from circuits_benchmark.models.registry import register_loader


@register_loader("tracr")
def load_tracr_model(model_id: ModelId, output_dir: Path) -> BenchmarkModel:
    """`tracr:<case>`: the compiled model of a case, with its ground truths."""
    from circuits_benchmark.compiler.cache import load_compiled_case

    return compiled_benchmark_model(load_compiled_case(model_id.case_id, output_dir / "cache"))


def compiled_benchmark_model(compiled: CompiledCase) -> BenchmarkModel:
    """A compiled case as a benchmark model: its inputs, metric positions and ground truths (the
    compressed models keep all of it but the network)."""
    from circuits_benchmark.cases.program_outputs import evaluate_program

    case = compiled.case
    positions = torch.ones(case.max_seq_len, dtype=torch.bool)
    positions[0] = False  # BOS carries no task output

    def sample(rng: np.random.Generator, count: int) -> torch.Tensor:
        return compiled.encode(case.sample_inputs(rng, count))

    def defined(tokens: torch.Tensor) -> torch.Tensor:
        inputs = [[compiled.input_tokens[i] for i in row[1:]] for row in tokens.tolist()]
        outputs = evaluate_program(case, inputs)
        return torch.tensor([[False] + [v is not None for v in row] for row in outputs])

    return BenchmarkModel(
        model_id=str(ModelId.tracr(case.case_id)),
        model=compiled.model,
        sample_tokens=sample,
        metric_positions=positions,
        ground_truths=compiled.ground_truths,
        # Categorical models output "undefined" as a class of its own, so every position counts.
        defined_positions=None if compiled.is_categorical else defined,
        dont_care_edges=compiled.dont_care,
        correspondence={node: (node,) for node in compiled.sop_of_component},
    )
