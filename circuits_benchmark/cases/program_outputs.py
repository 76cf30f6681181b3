"""Running RASP programs on inputs: the reference outputs every compiled model is checked against."""

from __future__ import annotations

from typing import Any, Sequence

from circuits_benchmark.cases.case import Case


def evaluate_program(case: Case, inputs: Sequence[Sequence[Any]]) -> list[list[Any]]:
    """The program's output for each input (tokens without BOS); None marks undefined positions."""
    return [_MemoizedEvaluator().evaluate(case.program, list(tokens)) for tokens in inputs]


def evaluate_every_sop(case: Case, inputs: Sequence[Sequence[Any]]) -> dict[str, list[tuple[Any, ...]]]:
    """Every SOp's value on every input, keyed by SOp label (one tuple per input)."""
    from tracr.rasp import rasp

    values: dict[str, list[tuple[Any, ...]]] = {}
    for tokens in inputs:
        evaluator = _MemoizedEvaluator()
        evaluator.evaluate(case.program, list(tokens))
        for expr, value in evaluator.results.values():
            if isinstance(expr, rasp.SOp):
                values.setdefault(expr.label, []).append(tuple(value))
    return values


def varying_sops(case: Case, inputs: Sequence[Sequence[Any]]) -> set[str]:
    """Labels of the SOps whose value differs between at least two of the inputs."""
    return {label for label, per_input in evaluate_every_sop(case, inputs).items() if len(set(per_input)) > 1}


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
