"""`CaseTokenizer`: a case's token ids and output values, checked at the door.

Inputs are given without BOS (the tokenizer adds it) as lists of vocabulary tokens; a batch's
sequences share one length of 1 to max_seq_len - 1. Outputs decode to the program's values:
class values for categorical cases, with the model's last class, "undefined", as None; floats for
numerical ones. `to_tokens` and `to_str_tokens` are TransformerLens's names for encoding and
showing tokens, so the tokenizer serves a HookedTransformer of the model too.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Sequence

import torch

from circuits_benchmark.cases import BOS, PAD
from circuits_benchmark.errors import BenchmarkError


@dataclasses.dataclass(frozen=True)
class CaseTokenizer:
    """input_tokens: token of each id (BOS and PAD among them); output_classes: value of each
    output class (None for numerical outputs); max_seq_len: positions, BOS included."""

    input_tokens: list[Any]
    output_classes: list[Any] | None
    max_seq_len: int

    def encode(self, inputs: Sequence[Sequence[Any]]) -> torch.Tensor:
        """Token ids [batch, 1 + length], BOS first. Raises BenchmarkError naming the first bad
        sequence: BOS or PAD given, a token outside the vocabulary, a wrong or uneven length."""
        index = {token: i for i, token in enumerate(self.input_tokens)}
        lengths = {len(sequence) for sequence in inputs}
        if len(lengths) > 1:
            raise BenchmarkError(f"a batch's sequences must share one length, got lengths {sorted(lengths)}")
        rows = []
        for number, sequence in enumerate(inputs):
            if not 1 <= len(sequence) <= self.max_seq_len - 1:
                raise BenchmarkError(f"input {number} has {len(sequence)} tokens: this model reads 1 to {self.max_seq_len - 1} (BOS is added)")
            for token in sequence:
                if token in (BOS, PAD):
                    raise BenchmarkError(f"input {number} holds {token}: give only vocabulary tokens (BOS is added, PAD is not used)")
                if token not in index:
                    vocabulary = [t for t in self.input_tokens if t not in (BOS, PAD)]
                    raise BenchmarkError(f"input {number}: token {token!r} is not in the vocabulary {vocabulary}")
            rows.append([index[BOS]] + [index[token] for token in sequence])
        return torch.tensor(rows, dtype=torch.long)

    def to_tokens(self, inputs: Sequence[Any] | Sequence[Sequence[Any]]) -> torch.Tensor:
        """`encode` of one sequence or a batch of them."""
        one = len(inputs) > 0 and not isinstance(inputs[0], (list, tuple))
        return self.encode([inputs] if one else inputs)

    def to_str_tokens(self, tokens: torch.Tensor) -> list[list[str]]:
        """The tokens of token ids [batch, pos] (or [pos]) as strings, BOS included."""
        rows = tokens.unsqueeze(0) if tokens.dim() == 1 else tokens
        return [[str(self.input_tokens[i]) for i in row] for row in rows.tolist()]

    def decode(self, logits: torch.Tensor) -> list[list[Any]]:
        """Output values per input, BOS position dropped: class values ("undefined" is None), or
        floats for numerical cases."""
        body = logits[:, 1:]
        if self.output_classes is None:
            return body[..., 0].tolist()
        return [[self.output_classes[i] for i in row] for row in body.argmax(dim=-1).tolist()]
