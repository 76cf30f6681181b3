"""What is known about how a model computes, for the analyses that are scored against it.

For a model of a case (compiled, or trained with a correspondence) the RASP program gives every
high-level variable's value at every position, the component that writes it (through the
correspondence for a trained model) and, for each head, the selector it implements, hence the
attention pattern it should have. For any other model (an AlgZoo transformer, a TransformerLens
model from a file) only the token and the position are known variables, both written by the
embedding; no head has a known selector, so its pictures are drawn without scores.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import torch

from circuits_benchmark.circuits.components import EMBED
from circuits_benchmark.models.benchmark_model import BenchmarkModel
from circuits_benchmark.models.model_id import ModelId

# The variables every model has, both written by the embedding (tracr's names for them).
TOKENS, INDICES = "tokens", "indices"


@dataclasses.dataclass(frozen=True)
class Variable:
    """A high-level variable on the analysed inputs.

    values: [input, position] its value at each position of each input (object array; None where
        undefined; positions before `KnownComputation.first_position` are not part of the task).
    numerical: probed by regression (tracr encodes it as a magnitude), else by classification.
    writers: the model's components that write it (`embed` for tokens and positions).
    """

    name: str
    values: np.ndarray
    numerical: bool
    writers: tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class KnownComputation:
    """The inputs analysed and what is known on them.

    tokens: [input, position] token ids fed to the model.
    first_position: the first position that carries task input (1 after a BOS token, else 0).
    variables: the known variables that vary on these inputs and whose writer is known.
    head_patterns: head -> [input, query, key] the attention its known selector prescribes
        (uniform over the selected keys; BOS when none is selected), for heads with one.
    head_selectors: head -> its selector in words.
    token_names: token id -> its text, for pictures (ids themselves when unknown).
    """

    tokens: torch.Tensor
    first_position: int
    variables: list[Variable]
    head_patterns: dict[str, torch.Tensor]
    head_selectors: dict[str, str]
    token_names: list[str] | None = None

    @property
    def has_truth(self) -> bool:
        """Whether anything beyond the embedding's variables is known (a model of a case)."""
        return bool(self.head_selectors) or any(v.writers != (EMBED,) for v in self.variables)


def known_computation(model: BenchmarkModel, n_inputs: int, seed: int, output_dir: Path) -> KnownComputation:
    """What is known about `model` on `n_inputs` inputs drawn with `seed` (see the module docstring)."""
    case_id = ModelId.parse(model.model_id).case_id
    if case_id is not None and model.correspondence:
        return _from_program(model, case_id, n_inputs, seed, output_dir)
    tokens = model.sample_tokens(np.random.default_rng(seed), n_inputs)
    positions = np.broadcast_to(np.arange(tokens.shape[1]), tokens.shape)
    variables = [
        Variable(TOKENS, tokens.numpy().astype(object), False, (EMBED,)),
        Variable(INDICES, positions.astype(object), False, (EMBED,)),
    ]
    return KnownComputation(tokens, 0, variables, {}, {})


def _from_program(model: BenchmarkModel, case_id: int, n_inputs: int, seed: int, output_dir: Path) -> KnownComputation:
    from circuits_benchmark.cases.program_outputs import trace_program
    from circuits_benchmark.compiler.cache import load_compiled_case

    compiled = load_compiled_case(case_id, output_dir / "cache")
    inputs = compiled.case.sample_inputs(np.random.default_rng(seed), n_inputs)
    tokens = compiled.encode(inputs)
    trace = trace_program(compiled.case, inputs)
    writers: dict[str, list[str]] = {TOKENS: [EMBED], INDICES: [EMBED]}
    for hl_node, labels in compiled.sop_of_component.items():
        for label in labels:
            writers.setdefault(label, []).extend(model.correspondence.get(hl_node, ()))
    variables = []
    for label, per_input in trace.values.items():
        if writers.get(label) and len({value for row in per_input for value in row}) > 1:
            values = np.empty(tokens.shape, dtype=object)  # position 0 is BOS: no value
            values[:, 1:] = np.array(per_input, dtype=object)
            variables.append(Variable(label, values, trace.numerical[label], tuple(writers[label])))
    patterns, selectors = {}, {}
    for hl_node, labels in compiled.sop_of_component.items():
        for label in labels:
            if label in trace.selections:
                for head in model.correspondence.get(hl_node, ()):
                    patterns[head] = _prescribed_attention(trace.selections[label], tokens.shape[1])
                    selectors[head] = trace.selectors[label]
    return KnownComputation(tokens, 1, variables, patterns, selectors, [str(t) for t in compiled.input_tokens])


def _prescribed_attention(selections: list[list[list[bool]]], n_positions: int) -> torch.Tensor:
    """[input, query, key] with BOS at position 0: each query spreads its attention evenly over the
    keys its selector selects, and attends to BOS when it selects none (tracr's default)."""
    selected = torch.zeros(len(selections), n_positions, n_positions)
    selected[:, 1:, 1:] = torch.tensor(selections, dtype=torch.float32)
    selected[:, :, 0] = (selected.sum(-1) == 0).float()
    return selected / selected.sum(-1, keepdim=True)
