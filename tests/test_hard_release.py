"""The hard family's release (`circuits_benchmark/releases/hard/`): every file is what the manifest
says, every model loads as `siit:<task>` on a checkout that has trained nothing, answers its
task on held-out inputs, and passes its ground truth's checks (`hard.checks`) there again; and
`release build` judges a hard model by those checks, not by the standard ones."""

from __future__ import annotations

import json
import shutil
import statistics
from pathlib import Path

import pytest
import torch

from circuits_benchmark.choices import Ablation
from circuits_benchmark.discovery.activation_patching import activation_patching
from circuits_benchmark.discovery.problem import DiscoveryProblem
from circuits_benchmark.discovery.settings import MethodSettings

from circuits_benchmark.evaluation.circuit_checks import FAITHFULNESS_TOLERANCE
from circuits_benchmark.hard import catalogue, high_level, task
from circuits_benchmark.hard.outside_effects import ACTIVE_BAR, outside_node_effects
from circuits_benchmark.hard.siit_task import HARD_RELEASE_DIR
from circuits_benchmark.patching.output_change import PatchingBatch
from circuits_benchmark.training.artifacts import META_FILE, release_case_dir, run_dir
from circuits_benchmark.training.release import RELEASED_FILES, build_release, read_manifest, sha256_of
from circuits_benchmark.training.siit_models import load_run
from circuits_benchmark.training.task_families import task_family

MANIFEST = read_manifest(HARD_RELEASE_DIR)
RELEASED = list(MANIFEST["models"])


def test_the_release_holds_only_catalogued_tasks_and_says_why_the_rest_are_out() -> None:
    assert RELEASED, "the hard family has no released model"
    assert set(RELEASED) | set(MANIFEST["excluded"]) <= set(catalogue.TASKS)
    assert all(entry["reason"] for entry in MANIFEST["excluded"].values())
    assert MANIFEST["total_bytes"] == sum(entry["bytes"] for entry in MANIFEST["models"].values())


@pytest.mark.parametrize("key", RELEASED)
def test_released_hard_model_answers_its_task_and_passes_its_checks_on_held_out_inputs(key: str, tmp_path: Path) -> None:
    entry = MANIFEST["models"][key]
    assert {name: sha256_of(release_case_dir(key, HARD_RELEASE_DIR) / name) for name in RELEASED_FILES} == entry["sha256"]
    run = load_run(tmp_path, key)  # no local run: `siit:<task>` is the release
    assert run.model_id == entry["model_id"] == f"siit:{key}:release"
    spec = catalogue.task_spec(key)
    held_out = task.training_split(catalogue.trained_spec(spec), run.meta.seed).test
    with torch.no_grad():
        answers = run.model(held_out).argmax(-1)
    expected = high_level.HardCausalModel(spec).run(held_out)[0].argmax(-1)
    assert (answers == expected)[:, task.metric_positions(spec)].float().mean() >= 0.995
    checks = task_family(key).check_ground_truth(run, tmp_path)["resample"]
    assert checks["faithful"] and checks["minimal"] and checks["hard"]["passed"], checks["redundant"]
    assert checks["changed_fraction"] == pytest.approx(entry["ground_truth_checks"]["resample"]["changed_fraction"], abs=1e-9)


def test_release_build_judges_a_hard_model_by_its_own_checks(tmp_path: Path) -> None:
    """A run whose stored checks are the standard ones (which call a redundant copy unnecessary)
    is released on the hard checks, which it passes, and the release stores those."""
    key = RELEASED[0]
    source = run_dir(tmp_path, key, "local")
    shutil.copytree(release_case_dir(key, HARD_RELEASE_DIR), source)
    meta = json.loads((source / META_FILE).read_text())
    meta.update(run_id="local", model_id=f"siit:{key}:local", ground_truth_checks={
        "resample": {"faithful": True, "minimal": False, "changed_fraction": 0.0, "redundant": ["a0.h0"]},
    })
    (source / META_FILE).write_text(json.dumps(meta))
    released = build_release({key: "local"}, tmp_path, tmp_path / "release")
    assert key in released["models"] and not released["excluded"]
    checks = released["models"][key]["ground_truth_checks"]["resample"]
    assert checks["minimal"] and checks["redundant"] == []


def test_nodes_outside_the_circuits_act_on_the_outputs_as_natural_nodes_do_and_on_no_answer(tmp_path: Path) -> None:
    """Across the released family, an outside node's ablation changes a median of at least 5% of
    the output positions (pooled over every outside node: issue 25's bar; natural models: 14%),
    and no outside node changes an answer of the task by more than the ground truth's tolerance."""
    effects = []
    for key in RELEASED:
        run = load_run(tmp_path, key)
        effects += outside_node_effects(task_family(key).benchmark_model(run, tmp_path), catalogue.task_spec(key))
    assert statistics.median(effect.outputs_changed for effect in effects) >= ACTIVE_BAR
    assert max(effect.answers_changed for effect in effects) <= FAITHFULNESS_TOLERANCE


def test_patching_ranks_redundant_parts_below_a_distractor(tmp_path: Path) -> None:
    """Among distractors, every hidden copy, the backup's output and the repaired MLP's input rank
    below an edge outside the circuit under exact patching (redundancy's intended effect)."""
    key = "hard-copies3-backup-side3-p2"
    model = task_family(key).benchmark_model(load_run(tmp_path, key), tmp_path)
    problem = DiscoveryProblem(model, PatchingBatch.sample(model, 200, seed=5), Ablation.RESAMPLE, "kl", 0)
    scores = dict(zip(problem.batch.layout.edges(), activation_patching(problem, MethodSettings()).edge_scores.tolist()))
    spec = catalogue.task_spec(key)
    truth = set(high_level.ll_ground_truth(spec).edges)
    outside = max(score for edge, score in scores.items() if edge not in truth)
    hidden = high_level.redundant_edges(spec)
    assert len(hidden) == 5 and all(scores[edge] < outside for edge in hidden), {edge: scores[edge] for edge in hidden}
