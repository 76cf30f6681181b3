"""A user's own (clean, corrupted) input pairs: checked at the door, encoded, fingerprinted.

Pairs replace the inputs a method would draw from the model's task (`runs.build_problem`). They
come as token-id tensors [n, pos] (BOS first) or as lists of token sequences in the model's
vocabulary (BOS added by the tokenizer); a file of pairs (`./main.py run ... --pairs FILE`) is
JSON, `{"clean": [[tokens...], ...], "corrupted": [[tokens...], ...]}`, in vocabulary tokens.

Every sequence must be as long as the model's input (its tokenizer's max_seq_len, BOS included),
because the positions a metric reads are fixed. The fingerprint is of the encoded token ids, so the
same pairs give the same fingerprint whether they come from a file or from Python, and two
different sets of pairs never share one (it names the run's result folder and store key).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path
from typing import Any, Sequence

import torch

from circuits_benchmark.cases import BOS
from circuits_benchmark.errors import BenchmarkError
from circuits_benchmark.models.tokenizer import CaseTokenizer

# Fewer pairs leave a mean or a method's estimate over one input: the runs' own --n-examples floor.
MIN_PAIRS = 2
FINGERPRINT_LENGTH = 12
SIDES = ("clean", "corrupted")
# What one side of the pairs may be: token ids [n, pos], or sequences of vocabulary tokens.
PairSide = torch.Tensor | Sequence[Sequence[Any]]


@dataclasses.dataclass(frozen=True)
class InputPairs:
    """Clean and corrupted token ids [n, pos] (BOS first), their fingerprint, and where they came
    from (a file's path, or "python"). Two InputPairs are equal when their fingerprints are."""

    clean: torch.Tensor = dataclasses.field(compare=False, repr=False)
    corrupted: torch.Tensor = dataclasses.field(compare=False, repr=False)
    fingerprint: str
    source: str = dataclasses.field(compare=False)

    def __len__(self) -> int:
        return len(self.clean)

    def summary(self) -> dict[str, Any]:
        """What a result records of them: fingerprint, number of pairs, source."""
        return {"fingerprint": self.fingerprint, "count": len(self), "source": self.source}


def encode_pairs(tokenizer: CaseTokenizer, clean: PairSide, corrupted: PairSide, source: str) -> InputPairs:
    """The pairs as token ids, checked: equal counts, at least MIN_PAIRS, every sequence of the
    model's input length, every token in its vocabulary (and BOS only first). Raises
    BenchmarkError naming `source`, the side and the first bad input."""
    encoded = [_encode_side(tokenizer, tokens, side, source) for tokens, side in ((clean, "clean"), (corrupted, "corrupted"))]
    counts = [len(tokens) for tokens in encoded]
    if counts[0] != counts[1]:
        raise BenchmarkError(f"{source}: {counts[0]} clean inputs but {counts[1]} corrupted ones: give one corrupted input per clean one")
    if counts[0] < MIN_PAIRS:
        raise BenchmarkError(f"{source}: {counts[0]} pairs given: at least {MIN_PAIRS} are needed")
    return InputPairs(encoded[0], encoded[1], fingerprint_of(*encoded), source)


def read_pairs_file(path: Path, tokenizer: CaseTokenizer) -> InputPairs:
    """The pairs of a JSON file (module docstring), encoded with `tokenizer`; raises
    BenchmarkError for a missing or malformed file or bad pairs."""
    try:
        data = json.loads(path.read_text())
    except OSError as error:
        raise BenchmarkError(f"cannot read the pairs file {path}: {error.strerror or error}") from None
    except json.JSONDecodeError as error:
        raise BenchmarkError(f"{path} is not JSON: {error}") from None
    if not isinstance(data, dict) or not all(isinstance(data.get(side), list) for side in SIDES):
        raise BenchmarkError(f'{path}: expected {{"clean": [[tokens...], ...], "corrupted": [[tokens...], ...]}}')
    return encode_pairs(tokenizer, data["clean"], data["corrupted"], str(path))


def fingerprint_of(clean: torch.Tensor, corrupted: torch.Tensor) -> str:
    """A short hash of two token-id batches (their shapes and values)."""
    digest = hashlib.sha256()
    for tokens in (clean, corrupted):
        digest.update(str(tuple(tokens.shape)).encode())
        digest.update(tokens.to(torch.int64).cpu().numpy().tobytes())
    return digest.hexdigest()[:FINGERPRINT_LENGTH]


def _encode_side(tokenizer: CaseTokenizer, tokens: PairSide, side: str, source: str) -> torch.Tensor:
    try:
        sequences = _sequences_of_ids(tokenizer, tokens) if isinstance(tokens, torch.Tensor) else _sequences(tokens)
        encoded = tokenizer.encode(sequences)
    except BenchmarkError as error:
        raise BenchmarkError(f"{source}: {side} {error}") from None
    if encoded.shape[1] != tokenizer.max_seq_len:
        length = tokenizer.max_seq_len - 1
        raise BenchmarkError(f"{source}: {side} inputs have {encoded.shape[1] - 1} tokens: this model's inputs have {length} (BOS is added)")
    return encoded


def _sequences(tokens: Sequence[Sequence[Any]]) -> list[list[Any]]:
    """Token sequences as lists; raises BenchmarkError for anything else."""
    if not tokens or not all(isinstance(sequence, (list, tuple)) for sequence in tokens):
        raise BenchmarkError("inputs must be a non-empty list of token sequences")
    return [list(sequence) for sequence in tokens]


def _sequences_of_ids(tokenizer: CaseTokenizer, ids: torch.Tensor) -> list[list[Any]]:
    """Token ids [n, pos] (BOS first) as vocabulary tokens without BOS, for `tokenizer.encode` to
    check; raises BenchmarkError for ids that are no token ids."""
    if ids.dim() != 2 or ids.dtype.is_floating_point or ids.dtype.is_complex or ids.dtype == torch.bool or len(ids) == 0:
        raise BenchmarkError(f"token ids must be a non-empty integer tensor [n, pos], not {ids.dtype} of shape {tuple(ids.shape)}")
    vocabulary = tokenizer.input_tokens
    if int(ids.min()) < 0 or int(ids.max()) >= len(vocabulary):
        raise BenchmarkError(f"token ids must lie in 0..{len(vocabulary) - 1}, got {int(ids.min())}..{int(ids.max())}")
    bos = vocabulary.index(BOS)
    if bool((ids[:, 0] != bos).any()):
        row = int((ids[:, 0] != bos).nonzero()[0])
        raise BenchmarkError(f"input {row} starts with token id {int(ids[row, 0])}: token ids start with BOS ({bos})")
    return [[vocabulary[i] for i in row] for row in ids[:, 1:].tolist()]
