"""The released IOI model (`siit:ioi`): it predicts the indirect object on held-out templates and
name pairs, implements the causal model (IIA, strict IIA), its ground truth is faithful and
minimal, its heads behave as the circuit says, and TransformerLens users get the same logits."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from circuits_benchmark.evaluation.circuit_checks import ground_truth_check
from circuits_benchmark.ioi import BAR, sentences
from circuits_benchmark.models.registry import load_benchmark_model
from circuits_benchmark.patching.output_change import PatchingBatch
from circuits_benchmark.training.artifacts import release_case_dir
from circuits_benchmark.training.release import RELEASED_FILES, read_manifest, sha256_of
from circuits_benchmark.training.reports import iit_metrics
from circuits_benchmark.training.siit_models import load_run


@pytest.fixture(scope="module")
def output_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An output folder with no trained run: `siit:ioi` is the release."""
    return tmp_path_factory.mktemp("ioi-output")


def test_the_release_matches_its_manifest(output_dir: Path) -> None:
    entry = read_manifest()["models"]["ioi"]
    directory = release_case_dir("ioi")
    assert {name: sha256_of(directory / name) for name in RELEASED_FILES} == entry["sha256"]
    run = load_run(output_dir, "ioi")
    assert run.model_id == entry["model_id"] == "siit:ioi:release"
    cfg = run.model.cfg
    assert (cfg.n_layers, cfg.n_heads, cfg.d_model, cfg.d_head) == (6, 4, 64, 16)  # the reference's shape


def test_held_out_accuracy_iia_and_strict_iia_clear_the_bar(output_dir: Path) -> None:
    run = load_run(output_dir, "ioi")
    metrics = iit_metrics(run, output_dir)  # rebuilds the held-out split and checks its fingerprint
    assert min(metrics.values()) >= BAR, metrics
    assert metrics == pytest.approx(run.meta.metrics)


@pytest.mark.parametrize("ablation", ["resample", "mean"])
def test_the_ground_truth_is_faithful_and_minimal(output_dir: Path, ablation: str) -> None:
    model = load_benchmark_model("siit:ioi", output_dir)
    check = ground_truth_check(PatchingBatch.sample(model, 300, seed=5), model, ablation)
    assert check.faithful and check.minimal, check.summary()
    assert len(check.removals) == 3 + 8  # each of the three heads, and each of the 8 q/k/v edges


def test_eval_ioi_finds_the_name_mover_and_ignores_other_heads(output_dir: Path) -> None:
    from circuits_benchmark.ioi.evaluation import ioi_report

    report = ioi_report("siit:ioi", output_dir, n_examples=200, seed=3)
    assert report["held_out"]["accuracy"] >= BAR and report["held_out"]["logit_difference"] > 0
    effects = {row["node"]: row for row in report["node_effects"]}
    for node, row in effects.items():
        if row["in_circuit"]:  # each circuit head matters: ablating it breaks the task
            assert row["resample"]["accuracy"] < 0.8, node
        else:  # the strict loss made every other node inert
            assert row["resample"]["accuracy"] >= BAR, node
    assert (Path(report["result_dir"]) / "node_effects.png").stat().st_size > 0


def test_transformer_lens_users_get_the_same_logits_and_see_the_name_mover() -> None:
    from circuits_benchmark import api

    hooked, tokenizer = api.hooked_model("siit:ioi")
    ours = api.load_model("siit:ioi").model
    sampled = sentences.sample_sentences(np.random.default_rng(7), 64, held_out=True)
    tokens = tokenizer.to_tokens([list(s.words) for s in sampled])
    logits, cache = hooked.run_with_cache(tokens)
    with torch.no_grad():
        assert torch.allclose(logits, ours(tokens), atol=1e-4)
    predicted = [tokenizer.output_classes[i] for i in logits[:, -1].argmax(dim=-1).tolist()]
    assert sum(p == s.indirect_object for p, s in zip(predicted, sampled)) >= BAR * len(sampled)
    # The name mover (a4.h1) attends, from the last position, more to IO than to either S mention.
    pattern = cache["blocks.4.attn.hook_pattern"][:, 1, -1]  # [batch, key position]
    for row, sentence in enumerate(sampled):
        io = 1 + sentence.words.index(sentence.indirect_object)
        subject = [1 + i for i, w in enumerate(sentence.words) if w == sentence.subject]
        assert pattern[row, io] > pattern[row, subject].max()


def test_acdc_runs_on_the_ioi_model_from_the_command_line(tmp_path: Path) -> None:
    """What a fresh clone does: `run acdc -i ioi` on the released model, and `eval ioi_acdc`."""
    from test_cli import run_cli

    result = run_cli("run", "acdc", "-i", "ioi", "--threshold", "0.5", "--n-examples", "20", "-o", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "siit:ioi:release" in result.stdout
    result = run_cli("eval", "ioi_acdc", "--threshold", "0.5", "--n-examples", "20", "-o", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "ground-truth edges found" in result.stdout
    assert next(tmp_path.glob("eval/ioi_acdc/*/*/comparison.png")).stat().st_size > 0
