"""Edge attribution patching: EAP (Syed et al. 2023) and EAP-IG (Hanna et al. 2024).

With the patching engine, d(objective)/d(mask_e) at mask = 1 is exactly EAP's
(clean_source - ablated_source) . d(objective)/d(destination input); one backward pass scores every
edge. EAP-IG averages that gradient over masks alpha * 1 for alpha = 1/N ... 1, a straight path in
activation space from the ablated to the clean run, which keeps gradients alive where attention is
saturated at the clean point (tracr's softmax is very cold). The score is the absolute value.
"""

from __future__ import annotations

import torch

from circuits_benchmark.discovery.problem import DiscoveryProblem, MethodOutput
from circuits_benchmark.discovery.settings import MethodSettings


def edge_attribution_patching(problem: DiscoveryProblem, settings: MethodSettings) -> MethodOutput:
    """EAP when `integrated_grad_steps` is 0, EAP-IG with that many steps otherwise."""
    steps = settings.integrated_grad_steps
    alphas = [1.0] if steps <= 0 else [k / steps for k in range(1, steps + 1)]
    total = problem.masks(0.0)
    done = 0
    for alpha in alphas:
        if done and problem.over_budget():
            break  # a cap: fewer interpolation steps (at least one)
        done += 1
        masks = problem.masks(alpha, requires_grad=True)
        objective = problem.attribution(problem.run(masks))
        (gradient,) = torch.autograd.grad(objective, masks)
        total += gradient
    scores = (total / done).abs()
    return MethodOutput(edge_scores=scores, details={"all_zero": bool((scores == 0).all()), "steps": steps, "steps_run": done})


def edge_attribution_patching_ig(problem: DiscoveryProblem, settings: MethodSettings) -> MethodOutput:
    """EAP-IG with `integrated_grad_steps` steps (5 when unset)."""
    steps = settings.integrated_grad_steps or 5
    return edge_attribution_patching(problem, MethodSettings(**{**settings.to_dict(), "integrated_grad_steps": steps}))
