"""A plug-in case whose RASP program tracr cannot compile: `rasp.selector_and` (tracr 1.0 ends in
"AttributeError: 'SelectorAnd' object has no attribute 'queries'"). Read by tests/test_plugins.py."""

from __future__ import annotations

from circuits_benchmark.cases.case import register_case


@register_case(1001, description="Tokens equal to the previous one, by two selectors joined with selector_and.", vocab=["a", "b"], max_seq_len=4, causal=True)
def previous_equal_and():  # noqa: ANN201 - a RASP SOp
    from tracr.rasp import rasp

    previous = rasp.Select(rasp.indices, rasp.indices, lambda k, q: q == k + 1)
    same = rasp.Select(rasp.tokens, rasp.tokens, lambda k, q: k == q)
    return rasp.SelectorWidth(rasp.selector_and(previous, same)).named("previous_equal")
