"""Probing, attention roles and the per-model report, scored against known computations
(`analyses.probing`, `analyses.attention_roles`, `analyses.model_report`)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch

from circuits_benchmark.errors import BenchmarkError
from circuits_benchmark.analyses.attention_roles import head_roles, label, role_scores
from circuits_benchmark.analyses.known_computation import known_computation
from circuits_benchmark.analyses.probing import _probe, probe_model
from circuits_benchmark.models.model_id import ModelId
from circuits_benchmark.models.registry import load_benchmark_model


@pytest.fixture(scope="module")
def output_dir(cache_dir: Path) -> Path:
    """An output folder whose compile cache is the session's."""
    folder = cache_dir.parent / "analyses"
    folder.mkdir(exist_ok=True)
    if not (folder / "cache").exists():
        (folder / "cache").symlink_to(cache_dir, target_is_directory=True)
    return folder


def test_a_probe_reads_what_is_linearly_there_and_its_control_does_not() -> None:
    rng = np.random.default_rng(0)
    classes = rng.integers(0, 3, size=(200, 4))
    features = torch.nn.functional.one_hot(torch.from_numpy(classes), 3).double() + 0.01 * torch.randn(200, 4, 3, dtype=torch.float64)
    score, control = _probe(features, classes.astype(object), numerical=False, train_inputs=140)
    assert score == 1.0 and control < 0.5  # balanced accuracy: chance is 1/3
    values = rng.normal(size=(200, 4))
    score, control = _probe(torch.from_numpy(values)[..., None] * torch.ones(3), values.astype(object), numerical=True, train_inputs=140)
    assert score > 0.99 and control < 0.1  # R^2


def test_probing_finds_where_case_3_writes_its_fraction_and_is_fooled_by_its_token_map(output_dir: Path) -> None:
    model = load_benchmark_model("tracr:3", output_dir)
    known = known_computation(model, 300, 0, output_dir)
    probes = {p.variable.rsplit("_", 1)[0] if "_x_" in p.variable else p.variable: p for p in probe_model(model.model, known)}
    # frac_x: the mean of is_x over positions up to this one, computed by head a1.h0 alone.
    fraction = probes["frac_x"]
    assert fraction.writers == ("a1.h0",) and fraction.known_location == "after a1"
    assert fraction.claimed_location == "after a1" and fraction.claimed_writer == "a1.h0"
    assert fraction.residual["after m0"][0] < 0.5 < fraction.residual["after a1"][0]
    # is_x (token == "x") is written by m0, but a linear probe reads it straight off the one-hot
    # token embedding: probing places it at the embedding, one sublayer too early.
    is_x = probes["is_x"]
    assert is_x.writers == ("m0",) and is_x.claimed_location == "embed" and not is_x.location_right
    assert probes["tokens"].location_right and probes["indices"].location_right


def test_a_previous_token_head_is_labelled_as_its_selector_says(output_dir: Path) -> None:
    model = load_benchmark_model("tracr:12", output_dir)  # shift_by(1) and shift_by(2) of the tokens in layer 0
    roles = {r.head: r for r in head_roles(model.model, known_computation(model, 200, 0, output_dir))[0]}
    assert (roles["a0.h1"].role, roles["a0.h1"].known_role, roles["a0.h1"].right) == ("previous token", "previous token", True)
    assert (roles["a0.h0"].role, roles["a0.h0"].known_role) == ("two tokens back", "two tokens back")
    assert roles["a1.h0"].known_role is None  # a head no aggregate compiled into: labelled, not scored
    assert roles["a0.h1"].pattern_distance < 0.05


def test_role_rules_on_hand_made_patterns() -> None:
    tokens = torch.tensor([[0, 5, 6, 5, 7]])  # BOS, then a token repeated at positions 1 and 3
    n = tokens.shape[1]
    previous = torch.zeros(1, n, n)
    previous[0, 0, 0] = previous[0, 1, 0] = 1
    for q in range(2, n):
        previous[0, q, q - 1] = 1
    assert label(role_scores(previous, tokens, 1)) == ("previous token", 1.0)
    bos = torch.zeros(1, n, n)
    bos[..., 0] = 1
    assert label(role_scores(bos, tokens, 1)) == ("bos / no-op", 1.0)
    same = torch.eye(n)[None].clone()
    same[0, 1], same[0, 3] = torch.eye(n)[3], torch.eye(n)[1]  # the two 5s look at each other
    scores = role_scores(same, tokens, 1)
    assert scores["same token"] == 1.0 and scores["first occurrence"] == 1.0
    spread = torch.full((1, n, n), 1 / (n - 1))
    spread[..., 0] = 0
    assert label(role_scores(spread, tokens, 1)) == ("uniform", 1.0)
    assert label(role_scores((previous + bos) / 2, tokens, 1))[0] == "other"  # half one role, half another


def test_model_ids_of_files() -> None:
    parsed = ModelId.parse("file:/tmp/a:b/model.pt")
    assert parsed.parts == ("/tmp/a:b/model.pt",) and parsed.folders() == ("files", "model")
    with pytest.raises(BenchmarkError, match="file:<path"):
        ModelId.parse("file:")


def test_eval_probe_and_attention_on_a_trained_model(output_dir: Path, cli) -> None:
    probe = cli("eval", "probe", "-i", "3", "-w", "release", "--n-examples", "200", "-o", str(output_dir))
    assert probe.exit_code == 0, probe.stderr
    assert re.search(r"location right for \d+% of variables, writer right for \d+%", probe.stdout)
    report = json.loads((output_dir / "eval" / "probe" / "case-003" / "siit-release" / "result.json").read_text())
    assert {v["variable"].split("_")[0] for v in report["variables"]} >= {"frac", "is", "tokens", "indices"}
    attention = cli("eval", "attention", "-i", "3", "-w", "release", "--n-examples", "200", "-o", str(output_dir))
    assert attention.exit_code == 0 and "heads with a known selector labelled rightly" in attention.stdout, attention.stderr
    heads = json.loads((output_dir / "eval" / "attention" / "case-003" / "siit-release" / "result.json").read_text())["heads"]
    assert [h["selector"] for h in heads if h["known_role"]] == ["Select(indices, indices, LEQ)"]


def test_a_report_of_a_saved_transformer_lens_model_renders_whole(tmp_path: Path, chromium_dom, cli) -> None:
    from circuits_benchmark.models.hooked import to_hooked_transformer

    hooked = to_hooked_transformer(_small_random_model())
    path = tmp_path / "my_model.pt"
    torch.save({"cfg": hooked.cfg.to_dict(), "state_dict": hooked.state_dict()}, path)
    done = cli("report", "--model", f"file:{path}", "--n-examples", "100", "-o", str(tmp_path / "out"))
    assert done.exit_code == 0, done.stderr
    page = tmp_path / "out" / "eval" / "report" / "files" / "my_model" / "report.html"
    text = page.read_text()
    assert "no known circuit" in text and "not scored" in text  # pictures, no scores
    body = re.search(r"<body[^>]*>", chromium_dom(page, "", tmp_path / "profile")).group(0)
    assert 'data-images="3"' in body and 'data-images-loaded="3"' in body and 'data-overflowing="0"' in body
    missing = cli("eval", "probe", "--model", f"file:{tmp_path / 'nope.pt'}", "-o", str(tmp_path / "out"))
    assert missing.exit_code == 2 and missing.stderr.strip() == f"error: no model file at {tmp_path / 'nope.pt'}"


def _small_random_model():
    from circuits_benchmark.models.transformer import CircuitTransformer, TransformerConfig

    torch.manual_seed(0)
    config = TransformerConfig(n_layers=2, n_heads=2, d_model=16, d_head=8, d_mlp=32, d_vocab=6, d_vocab_out=6, n_ctx=5,
                               causal=True, output_kind="categorical", use_bias=True)
    model = CircuitTransformer(config)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.normal_(0, 0.5)
    return model
