"""What circuit discovery needs of the IOI task besides the network: its inputs and the one
output position a metric reads (the last, where the indirect object is predicted)."""

from __future__ import annotations

import numpy as np
import torch

from circuits_benchmark.ioi import sentences


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
