"""Discovery methods: exact recovery where the ground truth is faithful, determinism, a toy model
with a known circuit recovered by every method that should, and the ROC/AUROC definitions."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from circuits_benchmark.circuits.circuit import Circuit
from circuits_benchmark.discovery.methods import METHODS
from circuits_benchmark.discovery.problem import MethodOutput
from circuits_benchmark.discovery.settings import MethodSettings
from circuits_benchmark.evaluation.roc import auroc, roc_from_circuits, roc_from_scores
from circuits_benchmark.models.benchmark_model import DATA_STREAMS, BenchmarkModel
from circuits_benchmark.models.registry import load_benchmark_model
from circuits_benchmark.models.transformer import CircuitTransformer, TransformerConfig
from circuits_benchmark.runs import RunConfig, build_problem, evaluate_output, run_discovery
from circuits_benchmark.storage.results_db import ResultsStore

FAST = MethodSettings(epochs=60)
# Cases whose resample ground truth is faithful and minimal (tests/test_case_library.py checks it).
EXACT_CASES = (3, 4, 13, 21, 38)


def problem_for(model_id: str, cache_root: Path, method: str = "acdc", seed: int = 42, n: int = 60):
    model = load_benchmark_model(model_id, cache_root)
    return build_problem(model, RunConfig(method, model_id, FAST, n_examples=n, seed=seed))


@pytest.mark.parametrize("case_id", EXACT_CASES)
def test_acdc_at_small_tau_recovers_ground_truth(case_id: int, tmp_path_factory: pytest.TempPathFactory) -> None:
    root = tmp_path_factory.getbasetemp() / "runs"
    problem = problem_for(f"tracr:{case_id}", root)
    output = METHODS["acdc"].function()(problem, MethodSettings(threshold=1e-6))
    found = output.sweep[-1][1].canonical()
    assert found == problem.benchmark_model.ground_truth("resample")


@pytest.mark.parametrize("case_id", EXACT_CASES)
def test_exact_patching_recovers_ground_truth(case_id: int, tmp_path_factory: pytest.TempPathFactory) -> None:
    root = tmp_path_factory.getbasetemp() / "runs"
    problem = problem_for(f"tracr:{case_id}", root, method="patching")
    output = METHODS["patching"].function()(problem, FAST)
    found = problem.circuit_from_mask(output.edge_scores > 1e-6).canonical()
    assert found == problem.benchmark_model.ground_truth("resample")


@pytest.mark.parametrize("method", list(METHODS))
def test_every_method_is_deterministic_under_a_seed(method: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    root = tmp_path_factory.getbasetemp() / "runs"
    first = METHODS[method].function()(problem_for("tracr:21", root, method, seed=7), FAST)
    second = METHODS[method].function()(problem_for("tracr:21", root, method, seed=7), FAST)
    assert torch.equal(first.edge_scores, second.edge_scores)


def toy_model() -> BenchmarkModel:
    """Two layers, two heads, MLPs: only head a0.h0 works. It averages the one-hot tokens of the
    prefix (causal, uniform attention) into a subspace the unembedding reads; everything else is zero."""
    vocab, n_ctx = 4, 5
    cfg = TransformerConfig(n_layers=2, n_heads=2, d_model=2 * vocab, d_head=vocab, d_mlp=4, d_vocab=vocab,
                            d_vocab_out=vocab, n_ctx=n_ctx, causal=True, use_bias=False)
    model = CircuitTransformer(cfg)
    with torch.no_grad():
        model.embed.W_E[:, :vocab] = torch.eye(vocab)
        model.blocks[0].attn.W_V[0, :vocab] = torch.eye(vocab)
        model.blocks[0].attn.W_O[0, :, vocab:] = 5 * torch.eye(vocab)
        model.unembed.W_U[vocab:] = torch.eye(vocab)

    def sample(rng: np.random.Generator, count: int) -> torch.Tensor:
        return torch.from_numpy(rng.integers(0, vocab, size=(count, n_ctx)))

    truth = Circuit([("embed", "a0.h0.v"), ("a0.h0", "output")], granularity="qkv")
    return BenchmarkModel("toy:1", model, sample, torch.ones(n_ctx, dtype=torch.bool), {"resample": truth, "zero": truth})


# The magnitude baseline cannot tell the live head from edges out of the same source, by design.
@pytest.mark.parametrize("method", ["acdc", "sp", "eap", "eap-ig", "patching", "edge-pruning", "ugs"])
def test_toy_circuit_is_recovered(method: str) -> None:
    model = toy_model()
    settings = MethodSettings(threshold=1e-4, edgewise=True, lambda_reg=0.05, epochs=150)
    config = RunConfig(method, "toy:1", settings, n_examples=64)
    problem = build_problem(model, config)
    output = METHODS[method].function()(problem, settings)
    evaluation = evaluate_output(problem, output, config).evaluation
    assert evaluation.edge_auroc == 1.0
    assert evaluation.node_auroc == 1.0


def test_a_stochastic_method_draws_afresh_on_every_model() -> None:
    """The random baseline with one seed on many models is many samples (mean AUROC near 0.5), not
    one draw repeated: its seed is mixed with the model id."""
    first, other = toy_model(), dataclasses.replace(toy_model(), model_id="toy:2")
    scores = [
        METHODS["random"].function()(build_problem(model, RunConfig("random", model.model_id, FAST, n_examples=8)), FAST).edge_scores
        for model in (first, first, other)
    ]
    assert torch.equal(scores[0], scores[1]) and not torch.equal(scores[0], scores[2])


def test_data_seeds_and_streams_draw_independent_inputs(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Seed s's corrupted batch was once seed s + 1's clean batch, so seeds shared half their data;
    every (seed, stream) now spawns generators of its own: no two of these batches are alike."""
    model = load_benchmark_model("tracr:21", tmp_path_factory.getbasetemp() / "runs")
    batches = [batch for seed in (42, 43) for stream in DATA_STREAMS for batch in model.clean_and_corrupted(50, seed, stream)]
    assert all(not torch.equal(a, b) for i, a in enumerate(batches) for b in batches[i + 1 :])
    assert torch.equal(model.clean_and_corrupted(50, 42)[0], batches[0])  # "method" is the default stream


def test_eap_is_not_degenerate_on_tracr(tmp_path_factory: pytest.TempPathFactory) -> None:
    """The reference's EAP returns all-zero scores on tracr models; ours attributes with a task
    metric whose gradient is not zero at the clean point."""
    problem = problem_for("tracr:3", tmp_path_factory.getbasetemp() / "runs", "eap")
    output = METHODS["eap"].function()(problem, FAST)
    assert not output.details["all_zero"]


def test_roc_and_auroc_definitions() -> None:
    truth, candidates = {"a", "b"}, {"a", "b", "c", "d"}
    perfect = roc_from_scores({"a": 3, "b": 2, "c": 1, "d": 0}, truth, candidates)
    assert auroc(perfect) == 1.0
    reversed_order = roc_from_scores({"a": 0, "b": 1, "c": 2, "d": 3}, truth, candidates)
    assert auroc(reversed_order) == 0.0
    all_tied = roc_from_scores({c: 1.0 for c in candidates}, truth, candidates)
    assert auroc(all_tied) == 0.5
    # A dominated sweep point (lower TPR at higher FPR) does not lower the area.
    sweep = roc_from_circuits([{"a"}, {"a", "c"}, {"c"}], truth, candidates)
    assert auroc(sweep) == pytest.approx(0.5 * 0.5 + 0.5 * 0.75)
    assert auroc(roc_from_scores({}, set(), candidates)) is None


def test_run_writes_result_files_and_never_overwrites_other_runs(tmp_path: Path) -> None:
    first = run_discovery(RunConfig("acdc", "tracr:3", MethodSettings(threshold=0.025)), tmp_path)
    second = run_discovery(RunConfig("acdc", "tracr:3", MethodSettings(threshold=0.5)), tmp_path)
    assert first.result_dir != second.result_dir
    for result in (first, second):
        assert {p.name for p in result.result_dir.iterdir()} == {"result.json", "roc.png", "circuit.png"}
    with ResultsStore(tmp_path) as store:  # a run enters the store too, under its own key
        stored = {run.run_key: run for run in store.runs()}
    key = "run/" + first.result_dir.relative_to(tmp_path).as_posix()
    assert stored[key].source == "run" and stored[key].metrics["edge_auroc"] == first.evaluation.edge_auroc
    written = json.loads((first.result_dir / "result.json").read_text())
    assert written == json.loads(json.dumps(first.to_dict()))
    assert written["config"]["seed"] == 42 and "torch" in written["versions"] and written["config"]["ablation"] == "resample"
    assert written["evaluation"]["edge_auroc"] == first.evaluation.edge_auroc == 1.0


def test_acdc_reusing_measured_circuits_gives_what_fresh_runs_give(tmp_path_factory: pytest.TempPathFactory) -> None:
    from circuits_benchmark.discovery import acdc

    problem = problem_for("siit:21", tmp_path_factory.getbasetemp() / "runs")
    thresholds = (0.1, 0.03, 0.01, 0.003)
    fresh, fresh_passes = [], 0
    for tau in thresholds:
        acdc._measured.clear()
        fresh.append(acdc.acdc(problem, MethodSettings(threshold=tau)))
        fresh_passes += len(next(iter(acdc._measured.values())))
    acdc._measured.clear()
    reused = [acdc.acdc(problem, MethodSettings(threshold=tau)) for tau in thresholds]
    for a, b in zip(fresh, reused):
        assert torch.equal(a.edge_scores, b.edge_scores) and a.sweep == b.sweep
    assert len(next(iter(acdc._measured.values()))) < fresh_passes  # later runs passed only where they parted


def test_dont_care_edges_count_neither_way(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Case 18's zero-ablation ground truth reads a0.h1, whose removal changes no output (recorded in
    tests/data/ground_truth_gaps.json). A method that keeps exactly the needed edges scores 1.0, and
    so does one that also keeps the idle ones: they are neither true nor false."""
    problem = build_problem(
        load_benchmark_model("tracr:18", tmp_path_factory.getbasetemp() / "runs"),
        RunConfig("random", "tracr:18", FAST, ablation="zero", n_examples=40),
    )
    model = problem.benchmark_model
    idle = model.dont_care("zero")
    assert idle == {("embed", "a0.h1.q"), ("embed", "a0.h1.k"), ("embed", "a0.h1.v"), ("a0.h1", "m0")} & set(model.ground_truths["zero"].edges)
    assert idle and model.dont_care("resample") == set()
    truth = set(model.ground_truths["zero"].edges)
    for kept in (truth - idle, truth):
        scores = torch.tensor([1.0 if edge in kept else 0.0 for edge in problem.patchable.layout.edges()])
        result = evaluate_output(problem, MethodOutput(edge_scores=scores), RunConfig("random", "tracr:18", FAST, ablation="zero"))
        assert result.evaluation.edge_auroc == 1.0 and result.evaluation.node_auroc == 1.0
        assert set(map(tuple, result.to_dict()["dont_care_edges"])) == {("embed", "a0.h1"), ("a0.h1", "m0")}


def test_the_engine_counts_what_a_method_costs() -> None:
    """EAP on 64 inputs: the clean and corrupted outputs, the resample values (a pass over the
    corrupted inputs) and one masked pass, 4 x 64 rows forward, and one backward pass over 64 rows:
    256 + 2 x 64 = 384 forward-pass equivalents. EAP-IG with 5 steps adds 4 masked passes and 4
    backward passes. The random baseline runs nothing."""
    from circuits_benchmark.runs import apply_method

    model = toy_model()
    costs = {}
    for method, steps in (("eap", 0), ("eap-ig", 5), ("random", 0)):
        config = RunConfig(method, "toy:1", MethodSettings(integrated_grad_steps=steps), n_examples=64)
        _, cost = apply_method(build_problem(model, config), config)
        costs[method] = cost.to_dict()
    assert costs["eap"] == {"forward_rows": 256, "backward_rows": 64, "forward_pass_equivalents": 384}
    assert costs["eap-ig"] == {"forward_rows": 256 + 4 * 64, "backward_rows": 5 * 64, "forward_pass_equivalents": 512 + 640}
    assert costs["random"]["forward_pass_equivalents"] == 0


def test_edge_pruning_recovers_case_3_exactly_and_keeps_its_sparsity(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Case 3's ground truth is 3 of its 23 q/k/v edges: at target sparsity 20/23 edge pruning keeps
    exactly those. On case 21 the expected sparsity of the trained gates reaches each target within
    the 0.02 tolerance, and every circuit keeps round((1 - target) x edges) edges before dead ends
    are dropped."""
    from circuits_benchmark.discovery import edge_pruning

    root = tmp_path_factory.getbasetemp() / "runs"
    problem = problem_for("tracr:3", root, "edge-pruning")
    settings = MethodSettings(sparsity=20 / 23)
    output = METHODS["edge-pruning"].function()(problem, settings)
    truth = problem.benchmark_model.ground_truths["resample"]
    assert problem.n_edges == 23 and set(output.sweep[-1][1].edges) == set(truth.edges)
    problem = problem_for("tracr:21", root, "edge-pruning")
    targets = (0.5, 0.7)
    outputs = edge_pruning.edge_pruning_runs([problem] * 2, [MethodSettings(sparsity=target) for target in targets])
    for target, output in zip(targets, outputs):
        assert abs(output.details["expected_sparsity"] - target) <= edge_pruning.SPARSITY_TOLERANCE
        assert int(edge_pruning.kept_at(output.edge_scores, target).sum()) == round((1 - target) * problem.n_edges)


def test_a_budget_caps_what_a_method_spends(tmp_path_factory: pytest.TempPathFactory) -> None:
    """ACDC with 500 forward-pass equivalents on 100 inputs: the reference passes and a few edge
    tests fit, then it stops and keeps every edge it did not test. EAP-IG stops after the step that
    crosses the budget. A capped run's key names its budget; an uncapped one's does not."""
    from circuits_benchmark.runs import apply_method, result_dir

    model = load_benchmark_model("tracr:21", tmp_path_factory.getbasetemp() / "runs")
    capped = RunConfig("acdc", "tracr:21", MethodSettings(budget=500))
    output, cost = apply_method(build_problem(model, capped), capped)
    assert cost.forward_pass_equivalents == 500
    assert bool(output.edge_scores.eq(0).sum() >= output.edge_scores.numel() - 3)  # untested edges: no score
    ig = RunConfig("eap-ig", "tracr:21", MethodSettings(budget=700))
    output, cost = apply_method(build_problem(model, ig), ig)
    assert output.details["steps_run"] == 2 and cost.forward_pass_equivalents == 900
    assert result_dir(capped, Path(".")).name.endswith("_budget-500")
    assert "budget" not in result_dir(RunConfig("acdc", "tracr:21", MethodSettings()), Path(".")).name
