"""The benchmark case type and its registry.

A case is a RASP program plus everything needed to run it as a task: vocabulary, maximum
length (including BOS), whether it compiles with a causal mask, and an optional sampler that
changes only the input distribution. Case ids follow InterpBench so that its users feel at home.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import inspect
from typing import TYPE_CHECKING, Any, Callable, Sequence

import numpy as np

from circuits_benchmark.errors import BenchmarkError

if TYPE_CHECKING:
    from tracr.rasp import rasp

BOS = "BOS"
PAD = "PAD"

# An input sampler draws `count` full-length inputs (lists of vocabulary tokens, no BOS).
InputSampler = Callable[[np.random.Generator, int], list[list[Any]]]


class CaseError(BenchmarkError, ValueError):
    """Raised for an unknown case id or a malformed case selection."""


@dataclasses.dataclass(frozen=True)
class Case:
    """One benchmark case: a RASP program and the task around it.

    Attributes:
        case_id: InterpBench id (an int; ids 16 and 27 do not exist).
        description: one line, what the program computes.
        vocab: the input vocabulary, in tracr's sorted token order.
        max_seq_len: maximum length *including* BOS; inputs hold max_seq_len - 1 tokens.
        causal: whether the model is compiled with a causal attention mask.
        trivial: InterpBench's flag for pure token-wise maps, too simple for evaluation.
        build_program: returns a fresh RASP program (imports tracr.rasp lazily).
        sampler: optional input distribution; uniform i.i.d. tokens when None.
    """

    case_id: int
    description: str
    vocab: tuple[Any, ...]
    max_seq_len: int
    causal: bool
    trivial: bool
    build_program: Callable[[], "rasp.SOp"]
    sampler: InputSampler | None = None

    @property
    def n_tokens(self) -> int:
        """Number of real tokens in a full-length input (BOS excluded)."""
        return self.max_seq_len - 1

    @property
    def n_possible_inputs(self) -> int:
        """Number of distinct full-length inputs."""
        return len(self.vocab) ** self.n_tokens

    @functools.cached_property
    def program(self) -> "rasp.SOp":
        """The RASP program (built once per Case object), labelled the same in every process."""
        return _with_stable_labels(self.build_program())

    def sample_inputs(self, rng: np.random.Generator, count: int) -> list[list[Any]]:
        """Draws `count` full-length inputs from the case's input distribution."""
        if self.sampler is not None:
            return self.sampler(rng, count)
        picks = rng.integers(0, len(self.vocab), size=(count, self.n_tokens))
        return [[self.vocab[i] for i in row] for row in picks]

    def source_fingerprint(self) -> str:
        """Hash of the source code that defines this case's program.

        Covers the whole module that defines the builder (its private helpers and samplers
        included) and the shared RASP building blocks, so a changed program gets a new cache
        key without compiling anything.
        """
        from circuits_benchmark.cases import rasp_blocks

        parts = [inspect.getsource(inspect.getmodule(self.build_program)), inspect.getsource(rasp_blocks)]
        parts.append(repr((self.case_id, self.vocab, self.max_seq_len, self.causal)))
        return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


_REGISTRY: dict[int, Case] = {}


def register_case(
    case_id: int,
    *,
    description: str,
    vocab: Sequence[Any],
    max_seq_len: int,
    causal: bool,
    trivial: bool = False,
    sampler: InputSampler | None = None,
) -> Callable[[Callable[[], "rasp.SOp"]], Callable[[], "rasp.SOp"]]:
    """Decorator that registers a RASP program builder as benchmark case `case_id`."""

    def decorate(build: Callable[[], "rasp.SOp"]) -> Callable[[], "rasp.SOp"]:
        if case_id in _REGISTRY:
            raise CaseError(f"case {case_id} is registered twice")
        _REGISTRY[case_id] = Case(
            case_id=case_id,
            description=description,
            vocab=tuple(sorted(set(vocab))),
            max_seq_len=max_seq_len,
            causal=causal,
            trivial=trivial,
            build_program=build,
            sampler=sampler,
        )
        return build

    return decorate


def registered_cases() -> dict[int, Case]:
    """All registered cases by id (the program modules must be imported first)."""
    return _REGISTRY


def _with_stable_labels(program: "rasp.SOp") -> "rasp.SOp":
    """tracr labels an expression `<name>_<id>`, the id drawn from a process-wide counter when it
    is first asked for, so one program gets other labels in another process or after other
    programs. Numbering the expressions in a fixed walk from the output instead makes a label a
    property of the program alone: labels stored when a case is compiled name the same SOps when
    the program is evaluated later (probing, attention roles)."""
    from tracr.rasp import rasp

    numbered: set[int] = set()
    stack = [program]
    while stack:
        expr = stack.pop()
        if id(expr) in numbered:
            continue
        numbered.add(id(expr))
        if not isinstance(expr, (rasp.TokensType, rasp.IndicesType)):  # shared by every program, labelled by name
            expr.__dict__["unique_id"] = len(numbered)  # overrides tracr's cached_property
        stack.extend(reversed(expr.children))
    return program
