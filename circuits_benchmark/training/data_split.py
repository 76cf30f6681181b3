"""Held-out inputs without leakage: the split is made over unique inputs, never over samples.

Drawing training and test samples independently (with replacement) puts the same input on both
sides whenever the input space is small (case 3 has 256 inputs). Here a pool of samples from the
case's own input distribution is de-duplicated first, then shuffled and cut, so no test input is
ever trained on.

Each side holds every distinct input once, which flattens the case's distribution. Where a
balanced sampler draws one class from a handful of inputs (case 89: half of its draws are one of 11
sorted sequences), the flattened sides hold that class at 0.2% and a constant output passes every
held-out bar; such cases split `by_draws`: each side keeps every draw of its inputs, so both follow
the case's distribution while staying disjoint.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math

import numpy as np
import torch

from circuits_benchmark.compiler.compiled_case import CompiledCase

POOL_DRAWS = 10_000
TEST_FRACTION = 0.2
MAX_TEST_INPUTS = 1_000


@dataclasses.dataclass(frozen=True)
class InputSplit:
    """Token ids [n, pos] (BOS included) of the training and the held-out inputs; disjoint."""

    train: torch.Tensor
    test: torch.Tensor
    by_draws: bool = False

    def fingerprint(self) -> str:
        """Short hash of both sides, stored with a run so that evaluation can check it rebuilt the same split."""
        digest = hashlib.sha256()
        for part in (self.train, self.test):
            digest.update(part.numpy().tobytes())
        return digest.hexdigest()[:16]


def split_unique_inputs(
    compiled: CompiledCase,
    seed: int,
    pool_draws: int = POOL_DRAWS,
    test_fraction: float = TEST_FRACTION,
    max_test: int = MAX_TEST_INPUTS,
    by_draws: bool = False,
) -> InputSplit:
    """Draws `pool_draws` inputs, keeps the distinct ones, and holds out a `test_fraction` of them.

    The held-out part is capped at `max_test` inputs (rows, with `by_draws`). `by_draws`: each side
    holds every draw of its distinct inputs, in a random order (see the module docstring). Raises
    ValueError when fewer than two distinct inputs come out, as no split is possible then.
    """
    rng = np.random.default_rng(seed)
    drawn = [tuple(tokens) for tokens in compiled.case.sample_inputs(rng, pool_draws)]
    unique = list(dict.fromkeys(drawn))
    if len(unique) < 2:
        raise ValueError(f"case {compiled.case.case_id} yields {len(unique)} distinct input(s); nothing to hold out")
    order = rng.permutation(len(unique))
    n_test = min(max_test, max(1, math.ceil(test_fraction * len(unique))), len(unique) - 1)
    if not by_draws:
        tokens = compiled.encode([unique[i] for i in order])
        return InputSplit(train=tokens[n_test:], test=tokens[:n_test])
    held_out = {unique[i] for i in order[:n_test]}
    shuffled = [drawn[i] for i in rng.permutation(len(drawn))]  # a sampler may return its classes in blocks
    test = [tokens for tokens in shuffled if tokens in held_out][:max_test]
    train = [tokens for tokens in shuffled if tokens not in held_out]
    return InputSplit(train=compiled.encode(train), test=compiled.encode(test), by_draws=True)
