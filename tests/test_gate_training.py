"""Trained masks as one tensor program: the engine's blocks of rows, and gate sets trained together
giving what each gives trained alone (`discovery.gate_training`)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import torch

from circuits_benchmark.discovery.settings import MethodSettings
from circuits_benchmark.models.registry import load_benchmark_model
from circuits_benchmark.runs import RunConfig, build_problem, compute_runs


def test_block_masks_patch_each_block_of_rows_with_its_own_circuit(tmp_path_factory: pytest.TempPathFactory) -> None:
    model = load_benchmark_model("tracr:21", tmp_path_factory.getbasetemp() / "runs")
    problem = build_problem(model, RunConfig("sp", "tracr:21", MethodSettings(), n_examples=30))
    patchable, clean, ablated = problem.patchable, problem.batch.clean, problem.ablated
    masks = torch.rand(3, problem.n_edges, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        together = patchable.run(clean, masks, ablated)
        apart = torch.cat([patchable.run(clean[10 * g : 10 * g + 10], masks[g], ablated[:, 10 * g : 10 * g + 10]) for g in range(3)])
        zero = problem.batch.ablated("zero")  # one value for every row
        zero_together = patchable.run(clean, masks, zero)
        zero_apart = torch.cat([patchable.run(clean[10 * g : 10 * g + 10], masks[g], zero) for g in range(3)])
    assert torch.allclose(together, apart, atol=1e-5) and torch.allclose(zero_together, zero_apart, atol=1e-5)
    assert not torch.allclose(together[:10], patchable.run(clean, masks[1], ablated)[:10].detach(), atol=1e-3)  # the circuits differ
    with pytest.raises(ValueError, match="equal blocks"):
        patchable.run(clean, torch.ones(4, problem.n_edges), ablated)


@pytest.mark.parametrize(("method", "overrides", "parameter", "values"), [
    ("sp", {}, "lambda_reg", (0.01, 1.0)),
    ("sp", {"edgewise": True}, "lambda_reg", (0.01, 1.0)),
    ("edge-pruning", {}, "sparsity", (0.5, 0.9)),
])
def test_runs_trained_together_match_runs_trained_alone(
    method: str, overrides: dict, parameter: str, values: tuple, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Two seeds (two data draws) x two settings on one model: each run trained with the others
    finds the circuit, scores, epochs and cost it finds alone; the runs stop after different epochs."""
    root = tmp_path_factory.getbasetemp() / "runs"
    base = MethodSettings(epochs=80, **overrides)
    configs = [
        RunConfig(method, "tracr:21", dataclasses.replace(base, **{parameter: value}), n_examples=40, seed=seed)
        for seed in (1, 2) for value in values
    ]
    together = [result for _, result in compute_runs(configs, root)]
    alone = [compute_runs([config], root)[0][1] for config in configs]
    for a, b in zip(alone, together):
        assert a.circuit == b.circuit and a.details == pytest.approx(b.details)
        assert a.cost == b.cost and a.cost["forward_pass_equivalents"] > 0
        assert [v for *_, v in a.scores["qkv_edges"]] == pytest.approx([v for *_, v in b.scores["qkv_edges"]], abs=1e-4)
    assert len({result.details["epochs_run"] for result in together}) > 1  # each stopped on its own rule


def test_runs_of_several_models_are_refused(tmp_path: Path) -> None:
    configs = [RunConfig("sp", "tracr:3", MethodSettings()), RunConfig("sp", "tracr:4", MethodSettings())]
    with pytest.raises(ValueError, match="one method on one model"):
        compute_runs(configs, tmp_path)
