"""SIIT training on case 3: losses by hand, one source of truth for the LL ground truth, a split
without leakage, exact resumption, IIA that improves, loading and evaluating trained runs."""

from __future__ import annotations

import copy
import dataclasses
import json
import math
import sys
import types
from pathlib import Path

import pytest
import torch

from circuits_benchmark.circuits.circuit import Circuit
from circuits_benchmark.errors import BenchmarkError
from circuits_benchmark.compiler.cache import load_compiled_case
from circuits_benchmark.models.registry import load_benchmark_model
from circuits_benchmark.patching.engine import EdgeLayout, PatchableModel
from circuits_benchmark.training.artifacts import GROUND_TRUTH_FILE, META_FILE, run_dir
from circuits_benchmark.training.correspondence import Correspondence, ll_config, ll_ground_truths
from circuits_benchmark.training.data_split import MAX_TEST_INPUTS, POOL_DRAWS, split_unique_inputs
from circuits_benchmark.training.tracr_tasks import case_split
from circuits_benchmark.evaluation.circuit_checks import ablate_outside, ground_truth_check
from circuits_benchmark.patching.output_change import PatchingBatch
from circuits_benchmark.training.objectives import HeldoutEvaluation, SiitObjective, heldout_metrics, output_loss, output_matches
from circuits_benchmark.training.siit_models import best_run_id, load_run
from circuits_benchmark.training.high_level import CompiledHighLevel
from circuits_benchmark.training.task import fresh_ll_model
from circuits_benchmark.training.task_families import build_task
from circuits_benchmark.training.settings import SiitSettings
from circuits_benchmark.training.trainer import total_loss, train_siit

SHORT = SiitSettings(epochs=12, early_stop=False)  # case 3: 4 steps an epoch, evaluated at epochs 8 and 12


def output_dir_with_cache(tmp_path: Path, cache_dir: Path) -> Path:
    """A fresh output folder that shares the session's compile cache (no recompiling per test)."""
    tmp_path.mkdir(exist_ok=True)
    (tmp_path / "cache").symlink_to(cache_dir, target_is_directory=True)
    return tmp_path


@pytest.fixture(scope="module")
def compiled(cache_dir: Path):
    return load_compiled_case(3, cache_dir)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory, cache_dir: Path) -> tuple[Path, dict]:
    """Case 3 trained for 30 epochs (a few seconds): enough for IIA to rise, not for the 99.5% bar."""
    output_dir = output_dir_with_cache(tmp_path_factory.mktemp("trained"), cache_dir)
    meta = train_siit(3, SiitSettings(epochs=30, early_stop=False), output_dir)
    return output_dir, meta


def test_cut_sources_mask_zeroes_exactly_the_edges_out_of_the_cut_nodes() -> None:
    layout = EdgeLayout.for_model(n_layers=2, n_heads=1, has_mlp=True)
    cut = torch.tensor([source == "m0" for source in layout.sources])
    masks = layout.cut_sources_mask(torch.stack([cut, ~cut & False]))
    expected = torch.tensor([0.0 if source == "m0" else 1.0 for source, _ in layout.edges()])
    assert torch.equal(masks[0], expected)
    assert torch.equal(masks[1], torch.ones(layout.n_edges))


def test_output_loss_by_hand() -> None:
    # Categorical, classes (a, b, undefined): position 0 is BOS; position 1's target is b, position
    # 2's is "undefined" (the HL's undefined logit is its argmax there): both count.
    hl = torch.tensor([[[1.0, 0.0, 1e-3], [0.0, 1.0, 1e-3], [0.0, 0.0, 1e-3]]])
    targeted = torch.tensor([False, True, True])  # a tracr case's: every position but BOS
    log3 = torch.log(torch.tensor(3.0))
    ll = torch.tensor([[[5.0, -5.0, 0.0], [0.0, log3, -100.0], [9.0, 0.0, 9.0 + log3]]])
    expected = -(math.log(0.75) + math.log(3 / (4 + math.exp(-9.0)))) / 2
    assert output_loss(ll, hl, targeted, categorical=True).item() == pytest.approx(expected, rel=1e-5)
    assert output_matches(ll, hl, targeted, categorical=True, tolerance=0.05) == (2, 2)
    ll_ignoring_undefined = ll.clone()
    ll_ignoring_undefined[0, 2, 2] = -10.0  # predicts class a where the program's value is None
    assert output_matches(ll_ignoring_undefined, hl, targeted, categorical=True, tolerance=0.05) == (1, 2)
    # IOI's: the last position only.
    assert output_matches(ll_ignoring_undefined, hl, torch.tensor([False, False, True]), categorical=True, tolerance=0.05) == (0, 1)
    # Numerical: mean squared error over the non-BOS positions.
    hl_num = torch.tensor([[[0.0], [0.5], [1.0]]])
    ll_num = torch.tensor([[[7.0], [0.6], [0.7]]])
    assert output_loss(ll_num, hl_num, targeted, categorical=False).item() == pytest.approx((0.01 + 0.09) / 2)
    assert output_matches(ll_num, hl_num, targeted, categorical=False, tolerance=0.15) == (1, 2)


def test_behaviour_iit_and_strict_losses_by_hand(compiled, tmp_path: Path) -> None:
    """LL = the tracr model with its unembedding doubled: every LL output is twice what the HL gives
    under the same intervention, so each loss is the mean square of the HL output it is compared with."""
    task = build_task(compiled.case.case_id, tmp_path, seed=0)
    identity = Correspondence({node: (node,) for node in task.correspondence.hl_nodes})
    ll = copy.deepcopy(compiled.model)
    ll.unembed.W_U.data *= 2
    hl = CompiledHighLevel(compiled.model, identity.hl_nodes)
    objective = SiitObjective(hl, ll, identity, compiled.ground_truth("resample", "qkv"), task.targeted)
    tokens = task.split.test[:32]
    rows = len(tokens)
    source_index = torch.arange(rows).roll(-1)
    node_index = torch.arange(rows) % objective.n_interventions
    generator = torch.Generator().manual_seed(0)
    outputs = objective.run(tokens, source_index, node_index, objective.strict_masks(rows, generator))
    losses = objective.losses(outputs)
    hl_base, hl_iit = outputs.hl_base[:, 1:, 0], outputs.hl_iit[:, 1:, 0]
    assert losses["behaviour"].item() == pytest.approx(hl_base.pow(2).mean().item(), rel=1e-5)
    assert losses["iit"].item() == pytest.approx(hl_iit.pow(2).mean().item(), rel=1e-5)
    # The tracr ground truth is faithful, so the strict pass reproduces 2 * HL base output.
    assert losses["strict"].item() == pytest.approx(hl_base.pow(2).mean().item(), rel=1e-4)
    assert not torch.equal(hl_iit, hl_base)  # the interventions did change something


def test_compiled_hl_interchange_is_the_engine_cutting_every_edge_out_of_the_node(compiled, tmp_path: Path) -> None:
    """The HL model's own forward pass gives what the patching engine gives when every edge out of
    the intervened node carries its output on the source input: the same node values and logits."""
    task = build_task(compiled.case.case_id, tmp_path, seed=0)
    hl = CompiledHighLevel(compiled.model, task.correspondence.hl_nodes)
    engine = PatchableModel(compiled.model)
    tokens = task.split.test[:40]
    source_index = torch.arange(len(tokens)).roll(-1)
    node_index = torch.arange(len(tokens)) % len(hl.node_names)
    logits, values = hl.run(tokens)
    engine_logits, sources = engine.run_with_sources(tokens)
    node_rows = [engine.layout.sources.index(node) for node in hl.node_names]
    assert torch.equal(logits, engine_logits) and torch.equal(values, sources[node_rows])
    cut = torch.stack([torch.tensor([source == hl.node_names[n] for source in engine.layout.sources]) for n in node_index.tolist()])
    with torch.no_grad():
        expected = engine.run(tokens, engine.layout.cut_sources_mask(cut), sources[:, source_index])
    interchanged = hl.interchange(tokens, node_index, values[:, source_index])
    assert torch.allclose(interchanged, expected, atol=1e-6)
    assert not torch.allclose(interchanged, logits, atol=1e-3)  # the interventions did change something


def test_held_out_evaluation_reused_as_the_model_learns_equals_a_fresh_one(trained, compiled, tmp_path: Path) -> None:
    """The evaluation keeps its HL outputs between calls; the LL side is measured anew each time."""
    output_dir, meta = trained
    task = build_task(3, output_dir, seed=meta.seed)
    model = fresh_ll_model(task.ll_config, seed=meta.seed)
    objective = task.objective(model)
    evaluation = HeldoutEvaluation(objective, task.split.test, meta.seed)
    untrained = evaluation.metrics()
    model.load_state_dict(load_run(output_dir, 3).model.state_dict())
    assert evaluation.metrics() == heldout_metrics(objective, task.split.test, meta.seed) == meta.metrics != untrained
    # Its passes of one intervention for all rows give what training's one pass of both kinds of rows gives.
    tokens, source_index = task.split.test, torch.arange(len(task.split.test)).roll(-1)
    node_index = torch.ones(len(tokens), dtype=torch.long)
    strict = objective.strict_masks(len(tokens), torch.Generator().manual_seed(0))
    with torch.no_grad():
        apart = objective.run(tokens, source_index, node_index, strict, one_intervention=True)
        together = objective.run(tokens, source_index, node_index, strict)
    assert torch.allclose(apart.ll_iit, together.ll_iit, atol=1e-6) and torch.allclose(apart.ll_strict, together.ll_strict, atol=1e-6)
    assert not torch.allclose(apart.ll_iit, apart.ll_base, atol=1e-3)


def test_strict_weight_is_applied_once() -> None:
    terms = {"behaviour": torch.tensor(1.0), "iit": torch.tensor(2.0), "strict": torch.tensor(3.0)}
    settings = SiitSettings(behaviour_weight=1.0, iit_weight=0.5, strict_weight=0.4)
    assert total_loss(terms, settings).item() == pytest.approx(1.0 + 1.0 + 1.2)


def test_ll_ground_truth_is_the_image_of_the_tracr_ground_truth(compiled, tmp_path: Path) -> None:
    task = build_task(compiled.case.case_id, tmp_path, seed=0)
    config = ll_config(compiled.model.cfg)
    assert config.n_layers >= 2 and config.n_heads >= 4 and config.d_model < compiled.model.cfg.d_model
    assert task.correspondence.to_dict() == {"m0": ["m0"], "a1.h0": ["a1.h0"]}
    expected = Circuit([("embed", "m0"), ("m0", "a1.h0.v"), ("a1.h0", "output")], granularity="qkv")
    assert task.ll_ground_truths["resample"] == expected
    # The strict loss never ablates a ground-truth edge, and with every unit ablated it leaves
    # nothing else that reaches a circuit node.
    objective = task.objective(fresh_ll_model(task.ll_config, seed=0))
    layout = objective.ll.layout
    kept = layout.mask_for(expected) > 0
    ablated_by_all_units = objective.strict_units.sum(dim=0) > 0
    for index, (source, destination) in enumerate(layout.edges()):
        into_circuit = destination.rsplit(".", 1)[0] in expected.nodes or destination in expected.nodes
        assert ablated_by_all_units[index] == (not kept[index] and (into_circuit or source not in expected.nodes)), (source, destination)


def test_stored_ground_truth_is_derived_from_the_stored_correspondence(trained, compiled) -> None:
    output_dir, meta = trained
    directory = run_dir(output_dir, 3, meta.run_id)
    stored = {a: Circuit.from_dict(c) for a, c in json.loads((directory / GROUND_TRUTH_FILE).read_text()).items()}
    derived = ll_ground_truths(Correspondence.from_dict(meta.correspondence), compiled.ground_truths)
    assert stored == derived
    loaded = load_benchmark_model("siit:3", output_dir)
    assert loaded.model_id == f"siit:3:{meta.run_id}"
    assert loaded.ground_truths == derived
    assert loaded.defined_positions is not None and loaded.metric_positions.tolist() == [False, True, True, True, True]


def test_held_out_split_shares_no_input_with_training(compiled) -> None:
    split = split_unique_inputs(compiled, seed=0)
    train = {tuple(row) for row in split.train.tolist()}
    test = {tuple(row) for row in split.test.tolist()}
    assert len(train) == len(split.train) and len(test) == len(split.test)  # unique inside each
    assert not train & test
    assert len(train) + len(test) == 256  # case 3 has 4^4 inputs, all drawn


def test_split_by_draws_keeps_a_balanced_samplers_classes_on_both_disjoint_sides(cache_dir: Path) -> None:
    compiled = load_compiled_case(89, cache_dir)  # half of its draws are one of 11 sorted sequences

    def sorted_share(tokens: torch.Tensor) -> float:
        values = tokens[:, 1:]  # token ids order like the values 0-10
        return (values[:, 1:] >= values[:, :-1]).all(dim=1).float().mean().item()

    distinct, drawn = split_unique_inputs(compiled, seed=0), case_split(compiled, 89, seed=0)
    assert drawn.by_draws and not distinct.by_draws
    assert sorted_share(distinct.train) < 0.01 and sorted_share(distinct.test) < 0.01
    assert sorted_share(drawn.train) > 0.3 and sorted_share(drawn.test) > 0.3
    assert not {tuple(row) for row in drawn.train.tolist()} & {tuple(row) for row in drawn.test.tolist()}
    assert len(drawn.test) == MAX_TEST_INPUTS and len(drawn.train) + len(drawn.test) <= POOL_DRAWS


def test_short_training_improves_iia(trained) -> None:
    _, meta = trained
    history = meta.history
    assert [r["epoch"] for r in history] == [8, 16, 24, 30] and meta.stopped == "epoch limit"
    assert history[-1]["iia"] > history[0]["iia"] + 0.2
    assert history[-1]["loss_iit"] < history[0]["loss_iit"]


def test_resume_after_a_kill_continues_exactly(tmp_path: Path, cache_dir: Path) -> None:
    straight_dir = output_dir_with_cache(tmp_path / "straight", cache_dir)
    straight = train_siit(3, SHORT, straight_dir)
    killed_dir = output_dir_with_cache(tmp_path / "killed", cache_dir)
    deterministic_kernels: list[bool] = []

    def kill_at_first_evaluation(epoch: int, record: dict) -> None:
        deterministic_kernels.append(torch.are_deterministic_algorithms_enabled())
        raise KeyboardInterrupt  # what a kill after the last checkpoint looks like

    with pytest.raises(KeyboardInterrupt):
        train_siit(3, SHORT, killed_dir, on_epoch=kill_at_first_evaluation, checkpoint_seconds=0.0)
    # Training runs on deterministic kernels (with two threads, the only way one seed gives one set of
    # weights: test_ioi.py's slow test) and gives the setting back, even when killed.
    assert deterministic_kernels == [True] and not torch.are_deterministic_algorithms_enabled()
    assert not (run_dir(killed_dir, 3, SHORT.run_id()) / META_FILE).exists()
    with pytest.raises(BenchmarkError, match="--resume"):
        train_siit(3, SHORT, killed_dir)
    resumed = train_siit(3, SHORT, killed_dir, resume=True)
    without_times = lambda meta: [{k: v for k, v in r.items() if k != "seconds"} for r in meta.history]  # noqa: E731
    assert without_times(resumed) == without_times(straight)
    a, b = load_run(straight_dir, 3).model.state_dict(), load_run(killed_dir, 3).model.state_dict()
    assert all(torch.equal(a[name], b[name]) for name in a)


def test_best_run_is_the_one_with_the_best_worst_metric(trained) -> None:
    output_dir, meta = trained
    other = run_dir(output_dir, 3, "zz-better")
    other.mkdir(parents=True)
    better = {**meta.to_dict(), "run_id": "zz-better", "metrics": {"accuracy": 1.0, "iia": 1.0, "strict_iia": 1.0}}
    (other / META_FILE).write_text(json.dumps(better))
    try:
        assert best_run_id(output_dir, 3) == "zz-better"
    finally:
        (other / META_FILE).unlink()
        other.rmdir()
    assert best_run_id(output_dir, 3) == meta.run_id
    with pytest.raises(BenchmarkError, match="train iit"):
        best_run_id(output_dir, 4)


def test_ground_truth_check_and_node_realism(cache_dir: Path, tmp_path: Path) -> None:
    output_dir = output_dir_with_cache(tmp_path, cache_dir)
    tracr = load_benchmark_model("tracr:3", output_dir)
    batch = PatchingBatch.sample(tracr, n_examples=200, seed=0)
    check = ground_truth_check(batch, tracr, "resample")
    assert check.faithful and check.kept.changed_fraction == 0.0 and check.minimal
    assert {"m0", "a1.h0"} <= set(check.removals) and all(c.changed_inputs > 0 for c in check.removals.values())
    broken = dataclasses.replace(
        tracr, ground_truths={k: c.without_edge(("m0", "a1.h0.v")) for k, c in tracr.ground_truths.items()}
    )
    assert not ground_truth_check(batch, broken, "resample").faithful
    # A ground truth padded with an edge the output never uses is faithful but not minimal.
    padded = dataclasses.replace(
        tracr,
        ground_truths={
            k: Circuit([*c.edges, ("embed", "output")], c.graph.nodes, c.granularity) for k, c in tracr.ground_truths.items()
        },
    )
    padded_check = ground_truth_check(batch, padded, "resample")
    assert padded_check.faithful and padded_check.redundant == ["embed->output"]
    assert ablate_outside(batch, tracr.ground_truth("resample")).changed_fraction == 0.0
    assert ablate_outside(batch, Circuit([], ["embed", "output"])).changed_fraction > 0.5


def test_suite_training_in_two_processes_resumes_by_skipping_finished_cases(tmp_path: Path, cache_dir: Path, cli) -> None:
    output_dir = output_dir_with_cache(tmp_path, cache_dir)
    command = ["train", "iit", "-i", "3,19", "--jobs", "2", "--epochs", "1", "--no-early-stop", "-o", str(output_dir)]
    first = cli(*command)
    assert first.exit_code == 0, first.stderr
    assert "trained siit:3:" in first.stdout and "trained siit:19:" in first.stdout
    meta = json.loads((run_dir(output_dir, 19, SiitSettings(epochs=1, early_stop=False).run_id()) / META_FILE).read_text())
    assert set(meta["ground_truth_checks"]) == {"resample", "mean"}
    again = cli(*command, "--resume")
    assert again.exit_code == 0, again.stderr
    assert "already trained siit:3:" in again.stdout and "already trained siit:19:" in again.stdout
    without_resume = cli(*command)
    assert "case 3 not trained" in without_resume.stdout and "--resume" in without_resume.stdout


def test_cli_train_eval_and_realism(trained, cli) -> None:
    output_dir, meta = trained
    result = cli("eval", "iit", "-i", "3", "-o", str(output_dir), "--n-examples", "100")
    assert result.exit_code == 0, result.stderr
    report_dir = output_dir / "eval" / "iit" / "case-003" / f"siit-{meta.run_id}"
    assert (report_dir / "node_effects.png").stat().st_size > 1000
    report = json.loads((report_dir / "result.json").read_text())
    assert {row["node"] for row in report["node_effects"] if row["in_circuit"]} == {"m0", "a1.h0"}
    result = cli("eval", "gt_node_realism", "-i", "3", "-w", meta.run_id, "-o", str(output_dir))
    assert result.exit_code == 0, result.stderr
    circuit_file = output_dir / "found.json"
    circuit_file.write_text(json.dumps({"circuit": Circuit([("embed", "m0")], ["embed", "m0", "output"]).to_dict()}))
    result = cli("eval", "node_realism", "-i", "3", "--result", str(circuit_file), "-o", str(output_dir))
    assert result.exit_code == 0, result.stderr
    result = cli("train", "iit", "-o", str(output_dir))
    assert result.exit_code == 2 and result.stderr.startswith("error: train iit needs -i")


def test_wandb_logging_is_offline_and_optional(tmp_path: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch, cli) -> None:
    calls: list[tuple] = []

    class FakeRun:
        def log(self, values: dict, step: int) -> None:
            calls.append(("log", step, values["iia"]))

        def finish(self) -> None:
            calls.append(("finish",))

    def init(**kwargs):
        calls.append(("init", kwargs["mode"], kwargs["name"]))
        return FakeRun()

    monkeypatch.setitem(sys.modules, "wandb", types.SimpleNamespace(init=init))
    monkeypatch.delenv("WANDB_MODE", raising=False)
    output_dir = output_dir_with_cache(tmp_path, cache_dir)
    result = cli("train", "iit", "-i", "3", "--epochs", "10", "--no-early-stop", "--wandb", "-o", str(output_dir), "--seed", "5")
    assert result.exit_code == 0, result.stderr
    assert calls[0][:2] == ("init", "offline") and [c[1] for c in calls if c[0] == "log"] == [8, 10]
    assert calls[-1] == ("finish",)


@pytest.mark.slow
def test_case3_trained_to_the_bar_has_a_faithful_ground_truth(tmp_path: Path, cache_dir: Path) -> None:
    """Item 9 on a real training run (about 15-40 s here, so kept out of the default run)."""
    output_dir = output_dir_with_cache(tmp_path, cache_dir)
    meta = train_siit(3, SiitSettings(), output_dir)
    assert meta.stopped == "early stop"
    model = load_benchmark_model("siit:3", output_dir)
    batch = PatchingBatch.sample(model, n_examples=500, seed=1)
    for ablation in ("resample", "mean"):
        check = ground_truth_check(batch, model, ablation)
        assert check.faithful and check.minimal, check.summary()


def test_the_learning_rate_halves_only_on_a_plateau_at_one_rate() -> None:
    from circuits_benchmark.training.trainer import plateaued

    def history(worst: list[float], lrs: list[float]) -> list[dict]:
        return [{"accuracy": 1.0, "iia": w, "strict_iia": 1.0, "lr": lr} for w, lr in zip(worst, lrs)]

    watched = ["accuracy", "iia", "strict_iia"]
    assert plateaued(history([0.5, 0.9, 0.9, 0.85], [1e-3] * 4), watched, 1e-3, 2)
    assert not plateaued(history([0.5, 0.9, 0.85, 0.91], [1e-3] * 4), watched, 1e-3, 2)  # the last one improved
    # just halved: the evaluations since must be at the new rate before it can halve again
    assert not plateaued(history([0.5, 0.9, 0.9, 0.85], [1e-3, 1e-3, 1e-3, 5e-4]), watched, 5e-4, 2)
    assert not plateaued(history([0.5, 0.4], [1e-3] * 2), watched, 1e-3, 2)  # too short to tell
    # with a floor the rule waits until the best worst metric has reached it
    assert not plateaued(history([0.5, 0.9, 0.9, 0.85], [1e-3] * 4), watched, 1e-3, 2, floor=0.95)
    assert plateaued(history([0.5, 0.96, 0.9, 0.85], [1e-3] * 4), watched, 1e-3, 2, floor=0.95)


def test_training_goes_on_past_the_metric_bar_until_the_ground_truth_check_passes(tmp_path: Path, cache_dir: Path) -> None:
    """Case 3 with a 60% target reaches it in all three metrics around epoch 40 with a ground truth
    that changes about 18% of outputs: the run trains on (each evaluation at the bar records its
    check) and stops at the first evaluation whose ground truth is faithful and minimal (epoch 136)."""
    from circuits_benchmark.training.trainer import may_stop_early, metrics_at_bar, training_on_reason

    output_dir = output_dir_with_cache(tmp_path, cache_dir)
    meta = train_siit(3, SiitSettings(target=0.6, epochs=300), output_dir)
    watched = ["accuracy", "iia", "strict_iia"]
    at_bar = [record for record in meta.history if metrics_at_bar(record, watched, 0.6)]
    first, last = at_bar[0], meta.history[-1]
    assert not first["ground_truth"]["faithful"] and "ground truth unfaithful" in training_on_reason(first)
    assert not may_stop_early(first, watched, 0.6) and first["epoch"] < last["epoch"]
    assert all("ground_truth" not in record for record in meta.history if record not in at_bar)
    assert meta.stopped == "early stop" and may_stop_early(last, watched, 0.6) and training_on_reason(last) == ""
    assert [may_stop_early(record, watched, 0.6) for record in at_bar] == [False] * (len(at_bar) - 1) + [True]
    # A run without the strict loss is not trained to keep its circuit: the metrics alone decide.
    assert may_stop_early(first, watched, 0.6, circuit_trained=False)
    # The check at the bar is the one the release verdict reads, made on the model as written.
    final = meta.ground_truth_checks["resample"]
    assert final["faithful"] and final["minimal"] and final["changed_fraction"] == last["ground_truth"]["changed_fraction"]


def test_train_summary_shows_the_verdict_whole_in_80_columns(trained, shown_whole_at_80) -> None:
    """The table `train iit` ends with, for case 3 trained 30 epochs (an unfaithful ground truth)
    and for the same run judged not minimal: every verdict word whole at 80 columns, and the
    redundant parts listed under it."""
    from circuits_benchmark.cli.siit import ground_truth_verdict, outcomes_table, redundancy_notes
    from circuits_benchmark.training.suite import CaseOutcome

    _, meta = trained
    check = meta.ground_truth_checks["resample"]
    assert not check["faithful"]
    redundant = {**check, "minimal": False, "redundant": ["embed->a0.h0.v", "a1.h0->output"]}
    not_minimal = dataclasses.replace(meta, ground_truth_checks={"resample": redundant})
    table = outcomes_table([CaseOutcome(3, "trained", meta), CaseOutcome(3, "trained", not_minimal), CaseOutcome(4, "not trained")])
    text = shown_whole_at_80(table, [ground_truth_verdict(check), ground_truth_verdict(redundant), meta.stopped])
    assert text.count("unfaithful") == 2 and "UNFAITH" not in text
    assert redundancy_notes("case 3", not_minimal.ground_truth_checks) == [
        "case 3: ground truth not minimal under resample ablation, redundant: embed->a0.h0.v, a1.h0->output"
    ]


def test_a_trained_run_records_its_files_sha256_and_refuses_a_flipped_byte(trained, tmp_path: Path, cache_dir: Path, cli) -> None:
    """meta.json records the sha256 of the weights, config and ground truth as written; a copy of
    the run with one byte of its weights flipped is refused, by the CLI with one error line."""
    import hashlib
    import shutil

    from circuits_benchmark.training.artifacts import CHECKSUMMED_FILES, MODEL_FILE

    source_dir, meta = trained
    source = run_dir(source_dir, 3, meta.run_id)
    assert meta.sha256 == {name: hashlib.sha256((source / name).read_bytes()).hexdigest() for name in CHECKSUMMED_FILES}
    output_dir = output_dir_with_cache(tmp_path, cache_dir)
    copy = run_dir(output_dir, 3, meta.run_id)
    shutil.copytree(source, copy)
    assert load_run(output_dir, 3, meta.run_id).meta.sha256 == meta.sha256
    data = bytearray((copy / MODEL_FILE).read_bytes())
    data[-1] ^= 0x01
    (copy / MODEL_FILE).write_bytes(bytes(data))
    with pytest.raises(BenchmarkError, match=r"model\.safetensors does not match the sha256 recorded in .*meta\.json"):
        load_run(output_dir, 3, meta.run_id)
    result = cli("run", "random", "-i", "3", "-w", meta.run_id, "-o", str(output_dir))
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert result.exit_code == 2 and len(errors) == 1 and "does not match the sha256" in errors[0]
