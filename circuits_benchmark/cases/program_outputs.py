"""Running RASP programs on inputs: the reference outputs every compiled model is checked against."""

from __future__ import annotations

import dataclasses
from typing import Any, Sequence

from circuits_benchmark.cases.case import Case


def evaluate_program(case: Case, inputs: Sequence[Sequence[Any]]) -> list[list[Any]]:
    """The program's output for each input (tokens without BOS); None marks undefined positions."""
    return [_MemoizedEvaluator().evaluate(case.program, list(tokens)) for tokens in inputs]


@dataclasses.dataclass
class ProgramTrace:
    """A program run on many inputs, every step kept.

    values: SOp label -> its value on each input (one tuple per input, None where undefined).
    numerical: SOp label -> whether tracr encodes it as a number (else as categories).
    selections: Aggregate label -> its selector's matrix on each input, [query][key] booleans.
    selectors: Aggregate label -> its selector in words, e.g. "Select(indices, indices, LT)".
    """

    values: dict[str, list[tuple[Any, ...]]]
    numerical: dict[str, bool]
    selections: dict[str, list[list[list[bool]]]]
    selectors: dict[str, str]


def trace_program(case: Case, inputs: Sequence[Sequence[Any]]) -> ProgramTrace:
    """Every SOp's value and every aggregate's selection on every input."""
    from tracr.rasp import rasp

    trace = ProgramTrace({}, {}, {}, {})
    for tokens in inputs:
        evaluator = _MemoizedEvaluator()
        evaluator.evaluate(case.program, list(tokens))
        for expr, value in evaluator.results.values():
            if not isinstance(expr, rasp.SOp):
                continue
            trace.values.setdefault(expr.label, []).append(tuple(value))
            trace.numerical[expr.label] = rasp.is_numerical(expr)
            if isinstance(expr, rasp.Aggregate):
                trace.selections.setdefault(expr.label, []).append(evaluator.results[id(expr.selector)][1])
                trace.selectors[expr.label] = _describe_selector(expr.selector)
    return trace


def _describe_selector(selector: Any) -> str:
    from tracr.rasp import rasp

    if isinstance(selector, rasp.Select):
        predicate = selector.predicate
        named = predicate.name if isinstance(predicate, rasp.Comparison) else "custom predicate"
        return f"Select({selector.keys.label}, {selector.queries.label}, {named})"
    return type(selector).__name__  # selector combinations (and, or, not)


def varying_sops(case: Case, inputs: Sequence[Sequence[Any]]) -> set[str]:
    """Labels of the SOps whose value differs between at least two of the inputs."""
    return {label for label, per_input in trace_program(case, inputs).values.items() if len(set(per_input)) > 1}


class _MemoizedEvaluator:
    """tracr's evaluator with each sub-expression evaluated once per input."""

    def __init__(self) -> None:
        from tracr.rasp import rasp

        class Memoized(rasp.DefaultRASPEvaluator):
            def __init__(inner) -> None:
                super().__init__()
                inner.results: dict[int, tuple[Any, Any]] = {}

            def evaluate(inner, expr, xs):  # noqa: ANN001 - tracr's signature
                key = id(expr)
                if key not in inner.results:
                    inner.results[key] = (expr, super().evaluate(expr, xs))
                return inner.results[key][1]

        self._evaluator = Memoized()

    @property
    def results(self) -> dict[int, tuple[Any, Any]]:
        return self._evaluator.results

    def evaluate(self, expr: Any, tokens: list[Any]) -> list[Any]:
        return list(self._evaluator.evaluate(expr, tokens))
