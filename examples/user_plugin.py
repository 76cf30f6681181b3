"""An example plug-in: a case, a method and a metric of one's own, outside the package.

    ./main.py --plugin examples/user_plugin.py cases verify -i 1000
    ./main.py --plugin examples/user_plugin.py run source-order -i 1000 --tracr --metric mean-abs
    ./main.py --plugin examples/user_plugin.py bench -i 1000 --models tracr --methods source-order,acdc
"""

from __future__ import annotations

import torch

from circuits_benchmark.cases.case import register_case
from circuits_benchmark.discovery.methods import register_method
from circuits_benchmark.discovery.metric_registry import register_metric
from circuits_benchmark.discovery.problem import DiscoveryProblem, MethodOutput
from circuits_benchmark.discovery.settings import MethodSettings


@register_case(1000, description="The previous token, upper-cased (a user's case).", vocab=["a", "b", "c"], max_seq_len=5, causal=True)
def previous_token_upper():  # noqa: ANN201 - a RASP SOp
    from tracr.rasp import rasp

    previous = rasp.Aggregate(rasp.Select(rasp.indices, rasp.indices, lambda k, q: q == k + 1), rasp.tokens, default=None)
    return rasp.Map(lambda token: None if token is None else token.upper(), previous.named("previous")).named("previous_upper")


def source_order(problem: DiscoveryProblem, settings: MethodSettings) -> MethodOutput:
    """A (poor) method: edges out of earlier sources score higher."""
    sources = problem.patchable.layout.sources
    rank = {source: len(sources) - i for i, source in enumerate(sources)}
    return MethodOutput(edge_scores=torch.tensor([float(rank[s]) for s, _ in problem.patchable.layout.edges()]))


def mean_absolute_change(patched: torch.Tensor, clean: torch.Tensor, corrupted: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """Mean over counted positions of the summed absolute change of the outputs."""
    return ((patched - clean).abs().sum(-1) * weights).sum() / weights.sum()


register_method("source-order", source_order, "edges out of earlier sources first (example plug-in)")
register_metric("mean-abs", mean_absolute_change, description="mean absolute output change (example plug-in)")
