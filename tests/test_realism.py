"""Realism statistics (`analyses.realism`) and `eval realism`, which trains its IIT and natural models."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from circuits_benchmark.analyses import realism_models
from circuits_benchmark.analyses.realism import effective_rank, excess_kurtosis
from circuits_benchmark.training.artifacts import META_FILE, run_dir
from circuits_benchmark.training.siit_models import default_run_id
from circuits_benchmark.training.task_families import task_family

# The IIT and natural models of case 3 train for this many epochs (a few seconds): a cap in epochs
# makes what they learn, and so every figure compared below, the same on any machine.
REALISM_EPOCHS = 20


def test_effective_rank_and_kurtosis_on_hand_checked_matrices() -> None:
    assert abs(effective_rank(torch.linalg.svdvals(torch.eye(6, dtype=torch.float64))) - 6) < 1e-9  # flat spectrum: full rank
    rank_one = torch.outer(torch.arange(1.0, 5.0), torch.arange(1.0, 4.0)).double()
    assert abs(effective_rank(torch.linalg.svdvals(rank_one)) - 1) < 1e-6
    assert effective_rank(torch.zeros(3)) == 0.0
    assert abs(excess_kurtosis(torch.randn(200_000, generator=torch.Generator().manual_seed(0)).double())) < 0.05  # Gaussian: 0
    sparse = torch.zeros(100, dtype=torch.float64)
    sparse[0] = 1.0  # one non-zero entry in 100: tracr-like weights
    assert abs(excess_kurtosis(sparse) - 95.01) < 0.01  # (0.99^4 + 99 * 0.01^4) / 100 / 0.0099^2 - 3


def test_eval_realism_trains_what_it_compares_and_keeps_siit_the_default(
    cache_dir: Path, tmp_path: Path, cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "cache").symlink_to(cache_dir, target_is_directory=True)
    # The command caps training in seconds; the recipes capped in epochs leave that cap unreached.
    capped = {family: {**recipe, "epochs": REALISM_EPOCHS} for family, recipe in realism_models.REALISM_RECIPES.items()}
    monkeypatch.setattr(realism_models, "REALISM_RECIPES", capped)
    command = ["eval", "realism", "-i", "3", "--max-seconds", "86400", "--n-examples", "100", "-o", str(tmp_path)]
    done = cli(*command)
    assert done.exit_code == 0, done.stderr
    assert "training its iit model" in done.stdout and "training its natural model" in done.stdout
    report = json.loads((tmp_path / "eval" / "realism" / "case-003" / "result.json").read_text())
    assert report["models"]["siit"] == "siit:3:release"
    assert report["models"]["natural"] == "siit:3:b1-iit0-s0-lr0.003-bs64-atol0.05-seed0"
    for family in ("iit", "natural"):
        meta = json.loads((run_dir(tmp_path, 3, task_family(3).settings(3, **capped[family]).run_id()) / META_FILE).read_text())
        assert (meta["stopped"], meta["epochs"]) == ("epoch limit", REALISM_EPOCHS)
    summary = report["summary"]
    # tracr's weights are sparse and exact; every trained model's are dense.
    assert summary["compiled"]["kurtosis"] > 1 > max(summary[f]["kurtosis"] for f in ("siit", "iit", "natural"))
    assert summary["compiled"]["effective_rank"] < 0.5 < min(summary[f]["effective_rank"] for f in ("siit", "iit", "natural"))
    # The strict loss makes the nodes outside the SIIT circuit inert to resampling; nothing does that for the compiled model's
    # absent nodes or asks it of the others.
    assert summary["compiled"]["effect_outside"] == 0 and summary["siit"]["effect_outside"] < summary["natural"]["effect_outside"]
    assert (tmp_path / "eval" / "realism" / "case-003" / "realism.png").stat().st_size > 10_000
    # An IIT-only or behaviour-only run is never what `siit:3` means.
    assert default_run_id(tmp_path, 3) == "release"
    again = cli(*command)
    assert again.exit_code == 0 and "training its" not in again.stdout  # finished runs are reused


def test_eval_realism_takes_a_hard_task_and_finds_its_side_heads_active(tmp_path: Path, cli, monkeypatch: pytest.MonkeyPatch) -> None:
    """A task without a compiled model (the hard family's) is compared as SIIT, IIT and natural
    models; its released SIIT model's side heads give the nodes outside the circuit real effects."""
    capped = {family: {**recipe, "epochs": 2} for family, recipe in realism_models.REALISM_RECIPES.items()}
    monkeypatch.setattr(realism_models, "REALISM_RECIPES", capped)
    done = cli("eval", "realism", "-i", "hard-distractor", "--max-seconds", "86400", "--n-examples", "100", "-o", str(tmp_path))
    assert done.exit_code == 0, done.stderr
    report = json.loads((tmp_path / "eval" / "realism" / "hard-distractor" / "result.json").read_text())
    assert set(report["models"]) == {"siit", "iit", "natural"} and report["models"]["siit"] == "siit:hard-distractor:release"
    assert report["summary"]["siit"]["effect_outside"] > 0.05
