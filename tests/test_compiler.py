"""The compiler against tracr's own: same outputs, TransformerLens round trip, unembedding."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from circuits_benchmark.compiler.cache import load_compiled_case


@pytest.mark.parametrize("case_id", [3, 13, 21])
def test_outputs_equal_tracr_reference_compiler(case_id: int, cache_dir: Path) -> None:
    from tracr.compiler import compiling

    ours = load_compiled_case(case_id, cache_dir)
    case = ours.case
    reference = compiling.compile_rasp_to_model(
        case.program, vocab=set(case.vocab), max_seq_len=case.n_tokens, causal=case.causal,
        compiler_bos="BOS", compiler_pad="PAD",
    )
    inputs = case.sample_inputs(np.random.default_rng(5), 20)
    with torch.no_grad():
        logits = ours.model(ours.encode(inputs))
    undefined = len(ours.output_classes or []) - 1
    for tokens, row in zip(inputs, logits):
        applied = reference.apply(["BOS", *tokens])
        expected = np.asarray(applied.unembedded[0])
        if ours.is_categorical:
            predicted = row[1:].argmax(-1).numpy()
            defined = predicted != undefined
            np.testing.assert_array_equal(predicted[defined], expected[1:][defined])
            # Where ours says "undefined", tracr's own model writes nothing to the output space.
            written = np.asarray(applied.transformer_output[0]) @ ours.model.unembed.W_U[:, :-1].numpy()
            assert np.abs(written[1:][~defined]).max(initial=0) < 1e-4
        else:
            np.testing.assert_allclose(row[1:, 0].numpy(), expected[1:], atol=1e-4)


def test_unembedding_follows_output_labels_not_identity(cache_dir: Path) -> None:
    compiled = load_compiled_case(13, cache_dir)
    w_u = compiled.model.unembed.W_U
    assert w_u.shape == (compiled.model.cfg.d_model, len(compiled.output_classes))
    assert compiled.output_classes[-1] is None and not w_u[:, -1].any()  # "undefined": a bias, no read
    for column, value in enumerate(compiled.output_classes[:-1]):
        row = int(w_u[:, column].argmax())
        assert compiled.residual_labels[row].endswith(f":{value}")
    assert not torch.equal(w_u[: w_u.shape[1]], torch.eye(w_u.shape[1]))


@pytest.mark.parametrize("case_id", [3, 18])
def test_hooked_transformer_round_trip_is_exact(case_id: int, cache_dir: Path) -> None:
    from circuits_benchmark.models.hooked import from_hooked_transformer, to_hooked_transformer

    compiled = load_compiled_case(case_id, cache_dir)
    tokens = compiled.encode(compiled.case.sample_inputs(np.random.default_rng(0), 32))
    ours, our_cache = compiled.model.run_with_cache(tokens)
    hooked = to_hooked_transformer(compiled.model)
    theirs, their_cache = hooked.run_with_cache(tokens)
    torch.testing.assert_close(theirs, ours, rtol=0, atol=1e-6)
    shared = [name for name in our_cache if name in their_cache]
    assert len(shared) >= 10
    for name in shared:
        torch.testing.assert_close(their_cache[name], our_cache[name], rtol=0, atol=1e-6, msg=name)
    back = from_hooked_transformer(hooked, compiled.model.cfg.output_kind)
    torch.testing.assert_close(back(tokens), ours, rtol=0, atol=0)
