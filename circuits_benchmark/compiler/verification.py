"""Checks that a compiled case is right and that its ground truth is faithful and minimal.

a. behaviour: the compiled model's decoded output equals the RASP program's at every position
   (all inputs when there are at most 10,000, else 2,000 sampled ones); for categorical cases
   "undefined" (None) is a value like any other, read from the model's undefined class;
b. faithfulness: keeping only the ground-truth edges and ablating all others leaves the output
   unchanged on every tested (clean, corrupted) pair (numerical cases: at defined positions);
c. minimality: removing any single ground-truth edge changes the output on some pair.
b and c are checked for each ablation a ground truth is stored for.
"""

from __future__ import annotations

import dataclasses
import itertools
from typing import Any, Callable

import numpy as np
import torch

from circuits_benchmark.choices import Granularity
from circuits_benchmark.cases.program_outputs import evaluate_program
from circuits_benchmark.circuits.circuit import Circuit, Edge
from circuits_benchmark.compiler.ground_truth import GROUND_TRUTH_ABLATIONS
from circuits_benchmark.compiler.compiled_case import CompiledCase
from circuits_benchmark.patching.output_change import PatchingBatch

ENUMERATION_LIMIT = 10_000
SAMPLED_INPUTS = 2_000
CIRCUIT_PAIRS = 300
# Pairs and seed of the ground-truth pruning rule (`prune_ground_truth`), apart from verification's.
PRUNING_PAIRS = 200
PRUNING_SEED = 1_000
# tracr averages with a finite softmax temperature, so numerical outputs are approximate; 5e-3 is
# below a third of the smallest gap between distinct outputs of any numerical case (1/59, case 39).
COMPILED_MATCH_TOLERANCE = 5e-3


@dataclasses.dataclass
class AblationCheck:
    """Faithfulness and minimality of the ground truth under one ablation."""

    ablation: str
    faithful: bool
    unfaithful_pairs: int
    redundant_edges: list[tuple[str, str]]

    @property
    def minimal(self) -> bool:
        return not self.redundant_edges

    def reason(self) -> str:
        """Why the check failed, in one line ('' when it passed)."""
        problems = []
        if not self.faithful:
            problems.append(f"{self.ablation}: output changes on {self.unfaithful_pairs} pairs")
        if self.redundant_edges:
            listed = ", ".join(f"{s}->{d}" for s, d in self.redundant_edges)
            problems.append(f"{self.ablation}: removing {listed} changes nothing")
        return "; ".join(problems)


@dataclasses.dataclass
class VerificationReport:
    """Everything verified about one compiled case."""

    case_id: int
    inputs_checked: int
    exhaustive: bool  # every possible input was checked, not a sample
    behaviour_mismatches: int  # positions where the decoded output is not the program's
    ablations: dict[str, AblationCheck]

    @property
    def passed(self) -> bool:
        return self.behaviour_mismatches == 0 and all(c.faithful and c.minimal for c in self.ablations.values())

    def status(self) -> str:
        """Short status for tables: 'ok' or what failed."""
        if self.passed:
            return "ok"
        parts = []
        if self.behaviour_mismatches:
            parts.append(f"{self.behaviour_mismatches} wrong outputs")
        parts.extend(c.reason() for c in self.ablations.values() if c.reason())
        return "; ".join(parts)

    def short_status(self) -> str:
        """One cell for tables: 'ok', or which checks failed and how many edges are redundant."""
        if self.passed:
            return "ok"
        parts = [f"{self.behaviour_mismatches} wrong outputs"] if self.behaviour_mismatches else []
        unfaithful = [name for name, c in self.ablations.items() if not c.faithful]
        parts.append(f"UNFAITHFUL ({', '.join(unfaithful)})" if unfaithful else "faithful")
        redundant = [f"{name} {len(c.redundant_edges)}" for name, c in self.ablations.items() if c.redundant_edges]
        if redundant:
            parts.append(f"not minimal: redundant edges {', '.join(redundant)}")
        return "; ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "VerificationReport":
        checks = {
            name: AblationCheck(
                ablation=c["ablation"],
                faithful=c["faithful"],
                unfaithful_pairs=c["unfaithful_pairs"],
                redundant_edges=[tuple(e) for e in c["redundant_edges"]],
            )
            for name, c in data["ablations"].items()
        }
        return cls(
            case_id=data["case_id"],
            inputs_checked=data["inputs_checked"],
            exhaustive=data["exhaustive"],
            behaviour_mismatches=data["behaviour_mismatches"],
            ablations=checks,
        )


def verification_inputs(compiled: CompiledCase, seed: int = 0) -> tuple[list[list[Any]], bool]:
    """All full-length inputs when there are few enough, else a sample; and whether it is exhaustive."""
    case = compiled.case
    if case.n_possible_inputs <= ENUMERATION_LIMIT:
        return [list(t) for t in itertools.product(case.vocab, repeat=case.n_tokens)], True
    return case.sample_inputs(np.random.default_rng(seed), SAMPLED_INPUTS), False


def verify_case(compiled: CompiledCase, seed: int = 0) -> VerificationReport:
    """Runs checks a, b and c on a compiled case."""
    inputs, exhaustive = verification_inputs(compiled, seed)
    expected = evaluate_program(compiled.case, inputs)
    mismatches = count_mismatches(compiled, inputs, expected)
    checks = _ablation_checks(compiled, inputs, expected, seed)
    return VerificationReport(compiled.case.case_id, len(inputs), exhaustive, mismatches, checks)


def count_mismatches(compiled: CompiledCase, inputs: list[list[Any]], expected: list[list[Any]]) -> int:
    """Positions where the model's decoded output is not the program's (`expected`): every position
    of a categorical case ("undefined" included), the defined ones of a numerical case."""
    with torch.no_grad():
        actual = compiled.decode(compiled.model(compiled.encode(inputs)))
    return sum(
        not _same(a, e, compiled.is_categorical)
        for row_a, row_e in zip(actual, expected)
        for a, e in zip(row_a, row_e)
        if e is not None or compiled.is_categorical
    )


def dont_care_edges(compiled: CompiledCase, seed: int = 0) -> dict[str, list[Edge]]:
    """Per stored ground truth, its edges whose single removal changes no output on verification's
    pairs (what `verify_case` reports as redundant): scoring counts them neither true nor false."""
    inputs, _ = verification_inputs(compiled, seed)
    checks = _ablation_checks(compiled, inputs, evaluate_program(compiled.case, inputs), seed)
    return {ablation: check.redundant_edges for ablation, check in checks.items()}


def _ablation_checks(compiled: CompiledCase, inputs: list[list[Any]], expected: list[list[Any]], seed: int) -> dict[str, AblationCheck]:
    """Checks b and c for every stored ground truth, on `CIRCUIT_PAIRS` pairs drawn with seed + 1."""
    clean, corrupted, scored = _circuit_pairs(compiled, inputs, expected, seed + 1, CIRCUIT_PAIRS)
    checks = {}
    for ablation in GROUND_TRUTH_ABLATIONS:
        changed_pairs = _pair_counter(compiled, ablation, clean, corrupted, scored)
        truth = compiled.ground_truth(ablation, granularity=Granularity.QKV)
        redundant = [edge for edge in truth.edges if changed_pairs(truth.without_edge(edge)) == 0]
        unfaithful = changed_pairs(truth)
        checks[ablation] = AblationCheck(ablation, unfaithful == 0, unfaithful, redundant)
    return checks


def prune_ground_truth(compiled: CompiledCase, ablation: str) -> tuple[Circuit, list[Edge]]:
    """The ground truth without the edges that provably do nothing, and those edges in the order removed.

    The rule, the same for every case: read off the weights, a ground truth holds every edge that
    carries a varying value (resample) or any value (zero) into a destination that reads it. Some
    such reads never change an output: a query that finds the same key whatever it is, tracr's
    BOS fallback when every query finds a key, a `length` computed from zeroed inputs that comes
    out as the full length anyway. On `PRUNING_PAIRS` (clean, corrupted) pairs drawn with a seed of
    their own (so `verify_case`'s pairs remain an independent check), the edge whose removal
    changes no output ("undefined" included) on any pair is removed, in forward order, each
    tested anew after the removals before it; dead ends are dropped; the search repeats until
    every edge left is needed. Each step changes no
    output, so the result is exactly as faithful as the full ground truth, and minimal.
    """
    inputs, _ = verification_inputs(compiled, PRUNING_SEED)
    expected = evaluate_program(compiled.case, inputs)
    changed_pairs = _pair_counter(compiled, ablation, *_circuit_pairs(compiled, inputs, expected, PRUNING_SEED, PRUNING_PAIRS))
    truth = compiled.ground_truth(ablation, granularity=Granularity.QKV)
    removed: list[Edge] = []
    candidates = [edge for edge in truth.edges if changed_pairs(truth.without_edge(edge)) == 0]
    while candidates:
        for edge in candidates:  # one removal may make a later candidate needed: test each anew
            if edge in truth.graph.edges and changed_pairs(truth.without_edge(edge)) == 0:
                pruned = truth.without_edge(edge).restricted_to_output_paths()
                removed += [e for e in truth.edges if e not in set(pruned.edges)]
                truth = pruned
        candidates = [edge for edge in truth.edges if changed_pairs(truth.without_edge(edge)) == 0]
    return truth, removed


def _circuit_pairs(
    compiled: CompiledCase, inputs: list[list[Any]], expected: list[list[Any]], seed: int, n_pairs: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(clean, corrupted, scored positions [pairs, pos - 1]): `n_pairs` inputs, each paired with
    another of them; every position counts for categorical cases, defined ones for numerical."""
    rng = np.random.default_rng(seed)
    chosen = rng.choice(len(inputs), size=min(n_pairs, len(inputs)), replace=False)
    clean = compiled.encode([inputs[i] for i in chosen])
    corrupted = clean[torch.from_numpy(rng.permutation(len(chosen)))]
    scored = torch.tensor([[v is not None or compiled.is_categorical for v in expected[i]] for i in chosen])
    return clean, corrupted, scored


def _pair_counter(
    compiled: CompiledCase, ablation: str, clean: torch.Tensor, corrupted: torch.Tensor, scored: torch.Tensor
) -> Callable[[Circuit], int]:
    """circuit -> number of pairs whose output changes (at a scored position) when only the
    circuit's edges are kept and all others take `ablation` values."""
    bos = torch.zeros(len(scored), 1, dtype=torch.bool)
    batch = PatchingBatch(compiled.model, clean, corrupted, torch.cat([bos, scored], dim=1), COMPILED_MATCH_TOLERANCE)

    def changed_pairs(circuit: Circuit) -> int:
        return batch.change(batch.layout.mask_for(circuit), ablation).changed_inputs

    return changed_pairs


def _same(actual: Any, expected: Any, categorical: bool) -> bool:
    if categorical:
        return actual == expected
    return abs(actual - expected) <= COMPILED_MATCH_TOLERANCE
