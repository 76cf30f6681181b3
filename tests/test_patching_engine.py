"""The patching engine: masks 1 give the clean run, masks 0 the ablated run, per-row masks work."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from circuits_benchmark.compiler.cache import load_compiled_case
from circuits_benchmark.patching.engine import PatchableModel


@pytest.fixture(scope="module")
def setup(cache_dir: Path) -> tuple:
    compiled = load_compiled_case(21, cache_dir)
    rng = np.random.default_rng(0)
    clean = compiled.encode(compiled.case.sample_inputs(rng, 64))
    corrupted = compiled.encode(compiled.case.sample_inputs(rng, 64))
    return compiled.model, PatchableModel(compiled.model), clean, corrupted


def test_all_masks_one_is_the_clean_run(setup: tuple) -> None:
    model, patchable, clean, corrupted = setup
    ablated = patchable.ablated_outputs("resample", clean, corrupted)
    logits = patchable.run(clean, torch.ones(patchable.n_edges), ablated)
    torch.testing.assert_close(logits, model(clean), rtol=0, atol=1e-5)


@pytest.mark.parametrize("ablation", ["resample", "zero", "mean"])
def test_all_masks_zero_is_the_ablated_run(setup: tuple, ablation: str) -> None:
    model, patchable, clean, corrupted = setup
    ablated = patchable.ablated_outputs(ablation, clean, corrupted)
    logits = patchable.run(clean, torch.zeros(patchable.n_edges), ablated)
    if ablation == "resample":
        expected = model(corrupted)
    else:  # the output reads the ablated sources directly
        expected = model.unembed_residual(ablated.sum(dim=0)).expand_as(logits)
    torch.testing.assert_close(logits, expected, rtol=0, atol=1e-4)


def test_per_row_masks_equal_separate_runs(setup: tuple) -> None:
    _, patchable, clean, corrupted = setup
    ablated = patchable.ablated_outputs("resample", clean, corrupted)
    masks = torch.randint(0, 2, (clean.shape[0], patchable.n_edges)).float()
    together = patchable.run(clean, masks, ablated)
    for row in (0, 7):
        alone = patchable.run(clean[row : row + 1], masks[row], ablated[:, row : row + 1])
        torch.testing.assert_close(together[row : row + 1], alone, rtol=0, atol=1e-5)


def test_masks_get_gradients(setup: tuple) -> None:
    _, patchable, clean, corrupted = setup
    ablated = patchable.ablated_outputs("resample", clean, corrupted)
    masks = torch.ones(patchable.n_edges, requires_grad=True)
    patchable.run(clean, masks, ablated).sum().backward()
    assert masks.grad is not None and masks.grad.abs().sum() > 0
