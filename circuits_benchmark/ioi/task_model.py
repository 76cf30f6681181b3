"""What circuit discovery needs of the IOI task besides the network: its inputs, the one output
position a metric reads (the last, where the indirect object is predicted), and the ABC
corruption."""

from __future__ import annotations

import functools

import numpy as np
import torch

from circuits_benchmark.errors import BenchmarkError
from circuits_benchmark.ioi import sentences

# The name of the corruption `abc_corrupted` makes (`BenchmarkModel.corruptions`).
ABC = "abc"


def sample_tokens(rng: np.random.Generator, count: int) -> torch.Tensor:
    """Token ids [count, pos] of sentences drawn from every template and name pair (clean and
    corrupted inputs are two such draws, as in the reference)."""
    return sentences.encode(sentences.sample_sentences(rng, count))


def sample_held_out_tokens(rng: np.random.Generator, count: int) -> torch.Tensor:
    """Token ids [count, pos] of sentences of the held-out templates and name pairs only: what a
    trained model's checks and the methods run on it read (it never trained on any of them)."""
    return sentences.encode(sentences.sample_sentences(rng, count, held_out=True))


def metric_positions() -> torch.Tensor:
    """bool [pos]: only the last position carries the task's output."""
    positions = torch.zeros(sentences.SENTENCE_LENGTH + 1, dtype=torch.bool)
    positions[-1] = True
    return positions


@functools.cache
def name_ids() -> tuple[int, ...]:
    """The token ids of the names."""
    vocabulary = sentences.tokenizer().input_tokens
    return tuple(vocabulary.index(name) for name in sentences.NAMES)


def abc_corrupted(rng: np.random.Generator, clean: torch.Tensor) -> torch.Tensor:
    """The ABC version of each sentence (MIB's counterfactual, Wang et al.'s ABC distribution):
    its repeated name S2 (the second mention of the subject) replaced by a third name C, drawn
    uniformly from the names the sentence does not hold. Everything else is left as it was, so the
    duplicate-token signal is gone while template, place, object, S1 and IO stay. Raises
    BenchmarkError for a sentence that repeats no name."""
    names = torch.tensor(name_ids())
    corrupted = clean.clone()
    for row, tokens in enumerate(clean):
        is_name = torch.isin(tokens, names)
        repeated = [p for p in is_name.nonzero().flatten().tolist() if bool((tokens[:p] == tokens[p]).any())]
        if not repeated:
            raise BenchmarkError(f"input {row} repeats no name: the abc corruption replaces the repeated subject S2")
        others = names[~torch.isin(names, tokens)]
        corrupted[row, repeated[0]] = others[rng.integers(len(others))]
    return corrupted
