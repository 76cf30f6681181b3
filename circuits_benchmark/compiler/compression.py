"""Compressed tracr models (`compressed:N`): features in superposition, circuit still known.

tracr gives every value of every variable a residual dimension of its own, which no trained
model does. Following the tracr paper's compression experiment, the residual stream is replaced
by a smaller one: a projection P (d_model x d_small) maps what each component writes into the
small stream, and its transpose maps the small stream back where each component reads:

    W_E' = W_E P, W_pos' = W_pos P, W_O' = W_O P, W_out' = W_out P      (writes)
    W_Q' = P^T W_Q, W_K' = P^T W_K, W_V' = P^T W_V, W_in' = P^T W_in, W_U' = P^T W_U   (reads)

P is block-structured by variable: the dimensions of one variable (`tokens:a`, `tokens:b`, ...)
are squeezed into fewer dimensions of their own, so the values of a variable share dimensions
(superposition) but two variables never do. An unstructured P is not faithful to the compiled
ground truth: a component then reads a little of every variable sharing its dimensions, so edges
that carried nothing carry something, and ablating them changes outputs (measured with an
unstructured P trained on behaviour alone: with the ground truth kept and every other edge
resample-ablated, case 3 changes 57% of output positions, case 4 79%, case 11 27%). The compiled
weights stay fixed; only P is trained, so that the compressed model's outputs match the compiled
model's (cross-entropy to its predictions, or squared error for numerical cases) and every
component's output, read back through P^T, matches the compiled one. Every component keeps its
name, so the compiled ground truth carries over; it is then verified on the compressed model
exactly as on the compiled one (`verification.verify_case`).

The width of a case is chosen by one rule: round after round, the variables of two or more
dimensions, largest first, are each halved (rounded up) on top of the halvings kept so far; a
halving is kept when the compressed model, trained anew, still matches the program's output at
MATCH_BAR of the positions verification checks, and a variable whose halving failed is not tried
again. The case's width is the last kept; none kept: it does not compress. (Squeezing every variable at once fails: one positional variable read by a numerical
mean, such as `indices` under a `<=` selector, cannot lose a dimension, while token one-hots can.)
"""

from __future__ import annotations

import dataclasses
import math
import time
from typing import Any, Callable

import numpy as np
import torch

from circuits_benchmark.cases.program_outputs import evaluate_program
from circuits_benchmark.compiler.compiled_case import CompiledCase
from circuits_benchmark.models.transformer import CircuitTransformer, TransformerConfig
from circuits_benchmark.compiler.verification import count_mismatches
from circuits_benchmark.patching.engine import PatchableModel

MATCH_BAR = 0.995
STEPS = 2000
BATCH_SIZE = 128
LEARNING_RATE = 3e-3
# The residual-matching term's weight beside the output term (the tracr paper trains on both).
RESIDUAL_WEIGHT = 1.0
# Inputs on which a compressed model's outputs are checked while choosing the width.
CHECK_INPUTS = 1_000


def compressed_config(config: TransformerConfig, d_small: int) -> TransformerConfig:
    return dataclasses.replace(config, d_model=d_small)


def compressed_weights(model: CircuitTransformer, projection: torch.Tensor) -> dict[str, torch.Tensor]:
    """The compressed model's state dict (differentiable in `projection`, d_model x d_small)."""
    reads, writes = projection.T, projection
    weights: dict[str, torch.Tensor] = {}
    for name, value in model.state_dict().items():
        last = name.rsplit(".", 1)[-1]
        if last in ("W_E", "W_pos", "W_out", "b_O", "b_out"):  # written into the stream (b_O, b_out: biases)
            weights[name] = value @ writes
        elif last == "W_O":
            weights[name] = torch.einsum("hkd,ds->hks", value, writes)
        elif last in ("W_Q", "W_K", "W_V"):
            weights[name] = torch.einsum("sd,hdk->hsk", reads, value)
        elif last in ("W_in", "W_U"):
            weights[name] = reads @ value
        else:
            weights[name] = value
    return weights


def build_compressed(model: CircuitTransformer, projection: torch.Tensor) -> CircuitTransformer:
    """The compressed model as an ordinary CircuitTransformer (frozen)."""
    small = CircuitTransformer(compressed_config(model.cfg, projection.shape[1]))
    with torch.no_grad():
        small.load_state_dict(compressed_weights(model, projection.float()))
    return small.eval().requires_grad_(False)


class _Compressed(torch.nn.Module):
    """The compressed model for `functional_call`: its weights are swapped in per call, so one
    patching engine built on it serves every step; forward returns the logits and every source's output."""

    def __init__(self, config: TransformerConfig) -> None:
        super().__init__()
        self.model = CircuitTransformer(config)
        self.patchable = PatchableModel(self.model)

    def forward(self, tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.patchable.run_with_sources(tokens)


def variable_blocks(compiled: CompiledCase) -> dict[str, list[int]]:
    """The residual dimensions grouped by the variable they hold (`tokens:a` and `tokens:b` are
    both `tokens`), in stream order. `tokens:BOS` is a block of its own: every head's default
    attention to BOS reads it, and sharing it would move that default."""
    blocks: dict[str, list[int]] = {}
    for dimension, label in enumerate(compiled.residual_labels):
        blocks.setdefault(label if label == "tokens:BOS" else label.split(":")[0], []).append(dimension)
    return blocks


def train_projection(compiled: CompiledCase, widths: dict[str, int], seed: int = 0, steps: int | None = None) -> torch.Tensor:
    """P (d_model x d_small), block-structured by variable (module docstring), each variable
    squeezed into `widths[variable]` dimensions (all of its own where not named), trained so that
    the compressed model's outputs match the compiled one's and every component's output, read
    back through P^T, matches the compiled component's. `steps`: STEPS when None."""
    steps = STEPS if steps is None else steps
    big = compiled.model
    blocks = list(variable_blocks(compiled).items())
    sizes = [widths.get(name, len(block)) for name, block in blocks]
    blocks = [block for _, block in blocks]
    generator = torch.Generator().manual_seed(seed)
    # Orthonormal columns per block: a wide enough block starts close to the compiled model.
    pieces = [torch.nn.Parameter(torch.linalg.qr(torch.randn(len(b), k, generator=generator))[0]) for b, k in zip(blocks, sizes)]
    rows = torch.tensor([d for block in blocks for d in block])
    small = _Compressed(compressed_config(big.cfg, sum(sizes)))
    optimiser = torch.optim.Adam(pieces, lr=LEARNING_RATE)
    # Cosine decay: large steps find the subspace, small ones settle the exact values tracr's MLPs need.
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, steps)
    rng = np.random.default_rng(seed)
    reference = PatchableModel(big)

    def assembled() -> torch.Tensor:
        projection = torch.zeros(big.cfg.d_model, sum(sizes))
        return projection.index_put((rows,), torch.block_diag(*pieces))

    for _ in range(steps):
        clean = compiled.encode(compiled.case.sample_inputs(rng, BATCH_SIZE))
        with torch.no_grad():
            target, target_sources = reference.run_with_sources(clean)
        projection = assembled()
        params = {f"model.{name}": value for name, value in compressed_weights(big, projection).items()}
        logits, sources = torch.func.functional_call(small, params, (clean,))
        loss = _output_loss(logits[:, 1:], target[:, 1:], compiled.is_categorical)
        loss = loss + RESIDUAL_WEIGHT * ((sources @ projection.T - target_sources) ** 2).sum(-1).mean()
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        schedule.step()
    return assembled().detach()


def _output_loss(logits: torch.Tensor, target: torch.Tensor, categorical: bool) -> torch.Tensor:
    if categorical:
        return torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), target.argmax(-1).flatten())
    return ((logits - target) ** 2).mean()


def output_match(compiled: CompiledCase, model: CircuitTransformer, inputs: list[list[Any]]) -> float:
    """The share of checked positions where `model`'s decoded output equals the program's (every
    position for categorical cases, defined ones for numerical, as in verification)."""
    expected = evaluate_program(compiled.case, inputs)
    checked = sum(v is not None or compiled.is_categorical for row in expected for v in row)
    return 1 - count_mismatches(dataclasses.replace(compiled, model=model), inputs, expected) / max(1, checked)


@dataclasses.dataclass(frozen=True)
class Compression:
    """A case's compression: every step tried (variable halved, resulting width, output match,
    kept or not), the projection of every kept width, and the chosen (narrowest kept) width."""

    case_id: int
    compiled_fingerprint: str
    d_model: int
    chosen: int | None
    steps: list[dict[str, Any]]
    projections: dict[int, torch.Tensor]
    seconds: float

    @property
    def matches(self) -> dict[int, float]:
        """Output match of every kept width."""
        return {step["width"]: step["match"] for step in self.steps if step["kept"]}

    def to_dict(self) -> dict[str, Any]:
        return {
            "case_id": self.case_id, "compiled_fingerprint": self.compiled_fingerprint, "d_model": self.d_model,
            "chosen": self.chosen, "matches": {str(k): v for k, v in self.matches.items()}, "steps": self.steps,
            "seconds": self.seconds,
            "rule": f"largest variable first, halved (rounded up) round after round, a halving kept when the output "
                    f"still matches the program at {MATCH_BAR}, a variable whose halving failed not tried again; "
                    f"the width is the last kept",
        }


def compress(compiled: CompiledCase, seed: int = 0, on_step: Callable[[dict[str, Any]], None] | None = None) -> Compression:
    """The module docstring's rule: round after round, the variables still of two dimensions or
    more, largest first, leaving out any whose halving failed, are each halved and retrained; a
    halving is kept when the output still matches; a round that keeps nothing ends the search."""
    start = time.perf_counter()
    inputs = compiled.case.sample_inputs(np.random.default_rng(seed + 1), CHECK_INPUTS)
    blocks = variable_blocks(compiled)
    widths: dict[str, int] = {}  # the kept width of each variable halved so far

    def current(name: str) -> int:
        return widths.get(name, len(blocks[name]))

    steps: list[dict[str, Any]] = []
    projections: dict[int, torch.Tensor] = {}
    failed: set[str] = set()
    chosen = None
    while True:
        candidates = sorted((n for n in compressible(compiled) if n not in failed and current(n) > 1), key=lambda n: -current(n))
        kept_in_round = False
        for name in candidates:
            trial = widths | {name: math.ceil(current(name) / 2)}
            projection = train_projection(compiled, trial, seed)
            width = projection.shape[1]
            match = output_match(compiled, build_compressed(compiled.model, projection), inputs)
            step = {"variable": name, "dimensions": current(name), "to": trial[name], "width": width, "match": match,
                    "kept": match >= MATCH_BAR}
            steps.append(step)
            if on_step is not None:
                on_step(step)
            if step["kept"]:
                widths, chosen, projections[width], kept_in_round = trial, width, projection, True
            else:
                failed.add(name)
        if not kept_in_round:
            break
    return Compression(
        compiled.case.case_id, compiled.fingerprint, compiled.model.cfg.d_model, chosen, steps, projections,
        time.perf_counter() - start,
    )


def most_halvings(compiled: CompiledCase) -> int:
    """How many halvings the search can try at most (for a progress bar)."""
    blocks = variable_blocks(compiled)
    return sum(math.ceil(math.log2(len(blocks[name]))) for name in compressible(compiled))


def compressible(compiled: CompiledCase) -> list[str]:
    """The variables with two dimensions or more, largest first (ties: stream order)."""
    blocks = variable_blocks(compiled)
    return sorted((name for name, block in blocks.items() if len(block) > 1), key=lambda name: -len(blocks[name]))
