"""An IOI model (`siit:ioi`) through everything a case goes through: loading by id, every
discovery method from the command line, `eval ioi`, `eval ioi_acdc`, the ground-truth checks,
release building and TransformerLens. The model here is a freshly initialised one written as a
finished run, so these tests check the plumbing and the measurements on a model that does not do
the task; test_ioi_release.py checks what the trained, released model does."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from circuits_benchmark.ioi import sentences
from circuits_benchmark.models.registry import load_benchmark_model
from circuits_benchmark.training.artifacts import TrainingProgress, release_case_dir, run_dir, write_run
from circuits_benchmark.training.task import fresh_ll_model
from circuits_benchmark.training.task_families import build_task
from circuits_benchmark.training.settings import SiitSettings
from circuits_benchmark.training.trainer import _meta


@pytest.fixture(scope="module")
def output_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An output folder holding one finished IOI run: fresh weights, IOI's ground truth and meta."""
    directory = tmp_path_factory.mktemp("ioi-output")
    settings = SiitSettings(epochs=1)
    task = build_task("ioi", Path("results"), settings.seed)
    model = fresh_ll_model(task.ll_config, settings.seed, task.init_std)
    progress = TrainingProgress(history=[{"epoch": 0, "step": 0, "seconds": 0.0, "accuracy": 0.0, "iia": 0.0, "strict_iia": 0.0}])
    write_run(run_dir(directory, "ioi", settings.run_id()), model, task.ll_ground_truths, _meta(task, settings, progress, "epoch limit", "cpu"))
    return directory


def test_siit_ioi_loads_with_its_task_and_ground_truth(output_dir: Path) -> None:
    model = load_benchmark_model("siit:ioi", output_dir)
    assert model.model_id.startswith("siit:ioi:b1-iit1")
    cfg = model.model.cfg
    assert (cfg.n_layers, cfg.n_heads, cfg.d_model, cfg.d_head) == (6, 4, 64, 16)  # the reference's shape
    assert model.metric_positions.tolist() == [False] * sentences.SENTENCE_LENGTH + [True]
    assert set(model.ground_truth().edges) == {
        ("embed", "a1.h1"), ("embed", "a2.h1"), ("embed", "a4.h1"), ("a1.h1", "a2.h1"), ("a2.h1", "a4.h1"), ("a4.h1", "output"),
    }
    tokens = model.sample_tokens(np.random.default_rng(0), 8)
    assert tokens.shape == (8, sentences.SENTENCE_LENGTH + 1)


def test_eval_ioi_measures_every_node_on_held_out_sentences(output_dir: Path) -> None:
    from circuits_benchmark.ioi.evaluation import ioi_report

    report = ioi_report("siit:ioi", output_dir, n_examples=60, seed=3)
    assert 0.0 <= report["held_out"]["accuracy"] <= 1.0
    assert {row["node"] for row in report["node_effects"]} == {f"a{l}.h{h}" for l in range(6) for h in range(4)} | {f"m{l}" for l in range(6)}
    assert [row["node"] for row in report["node_effects"] if row["in_circuit"]] == ["a1.h1", "a2.h1", "a4.h1"]
    assert set(report["by_template"]) <= {f"template {t} {o}" for t in sentences.TEST_TEMPLATES for o in sentences.ORDERS}
    for picture in ("node_effects.png", "high_level.png"):
        assert (Path(report["result_dir"]) / picture).stat().st_size > 0


def test_iit_metrics_rebuild_the_held_out_split(output_dir: Path) -> None:
    from circuits_benchmark.analyses.iit_evaluation import iit_metrics
    from circuits_benchmark.training.siit_models import load_run

    metrics = iit_metrics(load_run(output_dir, "ioi"), output_dir)  # checks the split's fingerprint
    assert set(metrics) == {"accuracy", "iia", "strict_iia"} and metrics["accuracy"] < 0.5  # untrained


def test_transformer_lens_users_get_the_same_logits(output_dir: Path) -> None:
    from circuits_benchmark import api

    hooked, tokenizer = api.hooked_model("siit:ioi", output_dir)
    ours = api.load_model("siit:ioi", output_dir).model
    sampled = sentences.sample_sentences(np.random.default_rng(7), 16, held_out=True)
    tokens = tokenizer.to_tokens([list(s.words) for s in sampled])
    logits, cache = hooked.run_with_cache(tokens)
    with torch.no_grad():
        assert torch.allclose(logits, ours(tokens), atol=1e-5)
    assert cache["blocks.4.attn.hook_pattern"].shape == (16, 4, sentences.SENTENCE_LENGTH + 1, sentences.SENTENCE_LENGTH + 1)


def test_acdc_runs_on_the_ioi_model_from_the_command_line(output_dir: Path, cli) -> None:
    """`run acdc -i ioi` and `eval ioi_acdc`, as users type them."""
    result = cli("run", "acdc", "-i", "ioi", "--threshold", "0.5", "--n-examples", "10", "-o", str(output_dir))
    assert result.exit_code == 0, result.stderr
    assert "siit:ioi" in result.stdout
    result = cli("eval", "ioi_acdc", "--threshold", "0.5", "--n-examples", "10", "-o", str(output_dir))
    assert result.exit_code == 0, result.stderr
    assert "ground-truth edges found" in result.stdout
    assert next(output_dir.glob("eval/ioi_acdc/*/*/comparison.png")).stat().st_size > 0


def test_a_model_of_an_earlier_ioi_task_is_refused(output_dir: Path, tmp_path: Path) -> None:
    import json
    import shutil

    from circuits_benchmark.errors import BenchmarkError

    source = next((output_dir / "ll_models" / "ioi").iterdir())
    target = tmp_path / "ll_models" / "ioi" / source.name
    shutil.copytree(source, target)
    meta = json.loads((target / "meta.json").read_text())
    meta["hl_model"]["fingerprint"] = "0" * 16
    (target / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(BenchmarkError, match="earlier IOI task"):
        load_benchmark_model("siit:ioi", tmp_path)


def test_release_build_picks_the_run_and_excludes_it_below_the_bar(output_dir: Path, tmp_path: Path) -> None:
    """`release build -i ioi` on an untrained run: the run is found, judged and left out with why."""
    from circuits_benchmark.training.release import best_runs, build_release

    runs = best_runs(output_dir, ["ioi"])
    assert list(runs) == ["ioi"] and runs["ioi"].startswith("b1-iit1")
    release_dir = tmp_path / "release"
    manifest = build_release(runs, output_dir, release_dir)
    assert manifest["models"] == {}
    assert "accuracy" in manifest["excluded"]["ioi"]["reason"]
    assert not release_case_dir("ioi", release_dir).exists()
