"""Compressed tracr models (`compiler.compression`, `compressed:N`)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
import torch

import circuits_benchmark.compiler.compression as compression
from circuits_benchmark.errors import BenchmarkError
from circuits_benchmark.compiler.cache import load_compiled_case
from circuits_benchmark.compiler.compressed_models import (
    COMPRESSED_RELEASE_DIR,
    COMPRESSION_FILE,
    load_compressed_model,
    save_compression,
    scored_compressed_id,
)
from circuits_benchmark.models.model_id import ModelId
from circuits_benchmark.compiler.verification import verify_case


def test_a_rotation_of_the_residual_stream_computes_exactly_what_the_compiled_model_does(cache_dir: Path) -> None:
    compiled = load_compiled_case(13, cache_dir)
    d_model = compiled.model.cfg.d_model
    rotation = torch.linalg.qr(torch.randn(d_model, d_model, generator=torch.Generator().manual_seed(0)))[0]
    rotated = compression.build_compressed(compiled.model, rotation)
    tokens = compiled.encode(compiled.case.sample_inputs(np.random.default_rng(0), 50))
    assert torch.allclose(rotated(tokens), compiled.model(tokens), atol=1e-4)
    # Dropping one direction of the stream (a width of d_model - 1, untrained) breaks outputs.
    dropped = compression.build_compressed(compiled.model, rotation[:, : d_model - 1])
    inputs = compiled.case.sample_inputs(np.random.default_rng(1), 200)
    assert compression.output_match(compiled, rotated, inputs) == 1.0 > compression.output_match(compiled, dropped, inputs)


def test_variables_are_halved_largest_first_and_kept_only_when_outputs_still_match(cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    compiled = load_compiled_case(3, cache_dir)
    # tokens:BOS stands alone (every head's default attention reads it); PAD, a, b, c, x share `tokens`.
    blocks = compression.variable_blocks(compiled)
    assert len(blocks["tokens"]) == 5 and len(blocks["tokens:BOS"]) == 1 and len(blocks["indices"]) == 4
    assert compression.compressible(compiled) == ["tokens", "indices"]
    monkeypatch.setattr(compression, "STEPS", 60)
    found = compression.compress(compiled)
    # Round one halves tokens, then indices; later rounds go on with the variables whose halving held.
    assert [(s["variable"], s["dimensions"], s["to"]) for s in found.steps[:2]] == [("tokens", 5, 3), ("indices", 4, 2)]
    assert found.steps[1]["width"] == 13 - 2 * found.steps[0]["kept"] - 2  # built on the first only if kept
    kept = [s for s in found.steps if s["kept"]]
    assert all(s["match"] >= compression.MATCH_BAR for s in kept) and set(found.projections) == {s["width"] for s in kept}
    assert found.chosen == (kept[-1]["width"] if kept else None)
    for index, step in enumerate(found.steps):  # a variable whose halving failed is not tried again
        assert step["kept"] or all(later["variable"] != step["variable"] for later in found.steps[index + 1 :])


def test_a_block_structured_projection_keeps_every_variable_apart(cache_dir: Path) -> None:
    compiled = load_compiled_case(3, cache_dir)
    projection = compression.train_projection(compiled, {"tokens": 3}, steps=1)
    blocks = compression.variable_blocks(compiled)
    columns = {name: set(torch.nonzero(projection[block].abs().sum(0)).flatten().tolist()) for name, block in blocks.items()}
    assert projection.shape == (13, 11) and len(columns["tokens"]) == 3
    assert all(not (columns[a] & columns[b]) for a in columns for b in columns if a < b)  # no dimension shared by two variables


def test_compressed_model_ids() -> None:
    assert str(ModelId.parse("compressed:13:d16")) == "compressed:13:d16" and ModelId.parse("compressed:13:d16").width == 16
    assert ModelId.parse("compressed:13").width is None and ModelId.compressed(13, 16).folders() == ("case-013", "compressed-d16")
    for bad in ("compressed:x", "compressed:13:16", "compressed:13:d"):
        with pytest.raises(BenchmarkError, match="compressed:<case>"):
            ModelId.parse(bad)


def test_a_stored_compression_loads_scored_only_when_verified(cache_dir: Path, tmp_path: Path) -> None:
    compiled = load_compiled_case(13, cache_dir)
    (tmp_path / "cache").symlink_to(cache_dir, target_is_directory=True)
    d_model = compiled.model.cfg.d_model
    identity = torch.eye(d_model)[:, :d_model]  # full width: the compiled model itself
    step = {"variable": "tokens", "dimensions": 1, "to": 1, "width": d_model, "match": 1.0, "kept": True}
    stored = compression.Compression(13, compiled.fingerprint, d_model, d_model, [step], {d_model: identity}, 0.0)
    verified = {"behaviour_mismatches": 0, "inputs_checked": 1, "status": "ok", "faithful": {"resample": True, "zero": True},
                "redundant_edges": {"resample": [], "zero": []}}
    save_compression(stored, {d_model: verified}, tmp_path / "compressed")
    model = load_compressed_model(ModelId.parse("compressed:13"), tmp_path)
    assert model.model_id == f"compressed:13:d{d_model}" and model.ground_truth() == compiled.ground_truth()
    assert scored_compressed_id(13, tmp_path) == f"compressed:13:d{d_model}"
    # Unfaithful under one ablation: loaded, runnable, not scored, and left out of the bench.
    save_compression(stored, {d_model: verified | {"faithful": {"resample": True, "zero": False}}}, tmp_path / "compressed")
    assert load_compressed_model(ModelId.parse("compressed:13"), tmp_path).ground_truths == {}
    assert scored_compressed_id(13, tmp_path) is None
    with pytest.raises(BenchmarkError, match="not compressed to width 5"):
        load_compressed_model(ModelId.parse("compressed:13:d5"), tmp_path)


def test_the_shipped_compressions_match_their_cases(cache_dir: Path, tmp_path: Path) -> None:
    """Every shipped compression's chosen model still matches the program at the bar on fresh inputs,
    and the compiled ground truth on it is sufficient and necessary (verified as a compiled model is)."""
    (tmp_path / "cache").symlink_to(cache_dir, target_is_directory=True)
    shipped = sorted(COMPRESSED_RELEASE_DIR.glob(f"case-*/{COMPRESSION_FILE}"))
    assert shipped, "no compressions ship with the project"
    for path in shipped:
        stored = json.loads(path.read_text())
        if stored["chosen"] is None:
            continue
        model = load_compressed_model(ModelId.compressed(stored["case_id"], stored["chosen"]), tmp_path)
        compiled = load_compiled_case(stored["case_id"], cache_dir)
        inputs = compiled.case.sample_inputs(np.random.default_rng(7), 300)
        assert compression.output_match(compiled, model.model, inputs) >= 0.99, stored["case_id"]
        report = verify_case(dataclasses.replace(compiled, model=model.model))
        faithful_and_minimal = all(check.faithful and check.minimal for check in report.ablations.values())
        assert faithful_and_minimal and model.ground_truth() == compiled.ground_truth(), (stored["case_id"], report.short_status())


def test_compress_and_store_writes_what_the_loader_reads(cache_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from circuits_benchmark.compiler.compressed_models import compress_and_store

    (tmp_path / "cache").symlink_to(cache_dir, target_is_directory=True)
    monkeypatch.setattr(compression, "STEPS", 10)
    stored, folder = compress_and_store(load_compiled_case(3, cache_dir), tmp_path / "compressed")
    assert folder == tmp_path / "compressed" / "case-003" and stored["steps"] and "rule" in stored
    if stored["chosen"] is None:  # 10 steps may keep nothing: then the case is listed as not compressing
        with pytest.raises(BenchmarkError, match="does not compress"):
            load_compressed_model(ModelId.parse("compressed:3"), tmp_path)
    else:
        assert set(stored["verification"]) == {str(stored["chosen"])}
        assert load_compressed_model(ModelId.parse("compressed:3"), tmp_path).model_id == f"compressed:3:d{stored['chosen']}"
