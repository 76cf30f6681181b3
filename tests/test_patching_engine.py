"""The patching engine: masks 1 give the clean run, masks 0 the ablated run, per-row masks work."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from circuits_benchmark.circuits import components
from circuits_benchmark.circuits.components import OUTPUT, QKV
from circuits_benchmark.compiler.cache import load_compiled_case
from circuits_benchmark.models.transformer import SHORT_ROW, CircuitTransformer, TransformerConfig, attention_pattern
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


def reference_run(patchable: PatchableModel, tokens: torch.Tensor, masks: torch.Tensor, ablated: torch.Tensor) -> torch.Tensor:
    """The patched pass written out as its definition: every destination reads
    sum_s m_s * clean_s + (1 - m_s) * ablated_s, with a mask per row (independent of the engine's mixing)."""
    model, layout = patchable.model, patchable.layout
    batch, n_pos = tokens.shape
    row_masks = masks.expand(batch, -1) if masks.dim() == 1 else masks.repeat_interleave(batch // len(masks), dim=0)
    ablated = ablated.expand(-1, batch, -1, -1)
    slices = {d: slice(o, o + n) for d, o, n in zip(layout.destinations, layout.offsets, layout.n_upstream)}
    clean = [model.embed.W_E[tokens] + model.pos_embed.W_pos[:n_pos]]
    constant = torch.zeros(model.cfg.d_model, dtype=torch.float64)

    def read(destination: str) -> torch.Tensor:
        m = row_masks[:, slices[destination]].T[:, :, None, None]  # [n, batch, 1, 1]
        n = m.shape[0]
        return (m * torch.stack(clean) + (1 - m) * ablated[:n]).sum(dim=0) + constant

    for layer, block in enumerate(model.blocks):
        q, k, v = (
            torch.stack([read(components.head_input_name(layer, h, slot)) for h in range(model.cfg.n_heads)], dim=2)
            for slot in QKV
        )
        clean.extend(model.attention_heads(block.attn, q, k, v).unbind(dim=2))
        constant = constant + model.attention_bias(block.attn)
        if model.cfg.d_mlp > 0:
            clean.append(model.mlp(block.mlp, read(components.mlp_name(layer))))
    return model.unembed_residual(read(OUTPUT))


@pytest.fixture(scope="module", params=[16, 0], ids=["with-mlps", "attention-only"])
def random_model(request: pytest.FixtureRequest) -> tuple:
    """A small transformer with random weights that all take gradients (as in training), in double
    precision so that a wrong formula cannot hide behind float rounding."""
    torch.manual_seed(0)
    cfg = TransformerConfig(n_layers=3, n_heads=2, d_model=8, d_head=4, d_mlp=request.param, d_vocab=5, d_vocab_out=5, n_ctx=4, causal=False)
    model = CircuitTransformer(cfg).double()
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.normal_(0, 0.5)
    tokens, corrupted = torch.randint(0, 5, (2, 12, 4))
    return model, PatchableModel(model), tokens, corrupted


@pytest.mark.parametrize("ablation", ["resample", "zero", "mean"])
@pytest.mark.parametrize("groups", [None, 1, 3, 12])
def test_patched_pass_matches_its_definition_in_values_and_gradients(random_model: tuple, ablation: str, groups: int | None) -> None:
    """Logits, and gradients with respect to masks, ablated values and weights, equal those of
    `m * clean + (1 - m) * ablated` summed per destination: one mask vector, or one per block of rows."""
    model, patchable, tokens, corrupted = random_model
    generator = torch.Generator().manual_seed(1)
    shape = (patchable.n_edges,) if groups is None else (groups, patchable.n_edges)
    masks = torch.rand(shape, generator=generator, dtype=torch.float64)
    ablated = patchable.ablated_outputs(ablation, tokens, corrupted).double() + torch.rand(1, generator=generator)
    weights = torch.randn(len(tokens), 4, 5, generator=generator, dtype=torch.float64)

    def values_and_gradients(run) -> list[torch.Tensor]:
        leaves = [masks.clone().requires_grad_(True), ablated.clone().requires_grad_(True)]
        model.zero_grad()
        logits = run(patchable, tokens, *leaves)
        (logits * weights).sum().backward()
        return [logits.detach(), *(leaf.grad for leaf in leaves), *(p.grad.clone() for p in model.parameters())]

    engine = values_and_gradients(lambda p, *args: p.run(*args))
    reference = values_and_gradients(reference_run)
    assert len(engine) == len(reference) == 3 + len(list(model.parameters()))
    for got, expected in zip(engine, reference):
        torch.testing.assert_close(got, expected, rtol=1e-9, atol=1e-9)
    with torch.no_grad():  # a forward-only pass takes another path
        torch.testing.assert_close(patchable.run(tokens, masks, ablated), reference[0], rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("groups", [None, 3])
def test_mask_gradients_of_a_frozen_model_match_the_definition(random_model: tuple, groups: int | None) -> None:
    """As attribution methods use it: weights frozen, ablated values fixed, only the masks take
    gradients (so the embedding's difference takes none and later ones do)."""
    model, patchable, tokens, corrupted = random_model
    generator = torch.Generator().manual_seed(2)
    shape = (patchable.n_edges,) if groups is None else (groups, patchable.n_edges)
    masks = torch.rand(shape, generator=generator, dtype=torch.float64)
    ablated = patchable.ablated_outputs("resample", tokens, corrupted)
    model.requires_grad_(False)
    try:
        gradients = []
        for run in (lambda *args: patchable.run(*args), lambda *args: reference_run(patchable, *args)):
            leaf = masks.clone().requires_grad_(True)
            run(tokens, leaf, ablated).square().sum().backward()
            gradients.append(leaf.grad)
    finally:
        model.requires_grad_(True)
    torch.testing.assert_close(gradients[0], gradients[1], rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("causal", [False, True])
def test_attention_pattern_is_torchs_softmax_even_for_cold_scores(causal: bool) -> None:
    """The written-out softmax equals torch.softmax on ordinary scores and on tracr's very cold ones
    (scores in the thousands, where exp without the shift overflows), causal rows included."""
    generator = torch.Generator().manual_seed(0)
    q, k = torch.randn(2, 3, 5, 4, 4, generator=generator).unbind(0)  # [batch, pos, head, d_head]
    assert q.shape[1] < SHORT_ROW  # the written-out softmax, not torch's
    for scale in (1.0, 1e-3):
        pattern = attention_pattern(q, k, scale, causal)
        scores = torch.einsum("bqhd,bkhd->bhqk", q, k) / scale
        if causal:
            scores = scores.masked_fill(torch.ones(5, 5, dtype=torch.bool).triu(1), float("-inf"))
        assert torch.isfinite(pattern).all()
        torch.testing.assert_close(pattern, torch.softmax(scores, dim=-1))
        assert not causal or pattern.triu(1).eq(0).all()
