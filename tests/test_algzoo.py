"""AlgZoo-style models: tasks, architectures, training and resuming, evaluation, hand-built models, estimation."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from circuits_benchmark.algzoo.attention import AttentionStack, export_transformer, init_transformer_weights
from circuits_benchmark.algzoo.estimation import ESTIMATORS, add_weight_noise, conditional_accuracy, noise_study
from circuits_benchmark.algzoo.scoring import evaluate_model
from circuits_benchmark.algzoo.models import ZooSpec, load_zoo_model, model_from_weights, parameter_count
from circuits_benchmark.algzoo.rnn import ReluRNN, init_rnn_weights
from circuits_benchmark.algzoo.tasks import data_generator, get_task
from circuits_benchmark.algzoo.training import Recipe, _member_weights, _place, plan_training, run_training, specs_to_train
from circuits_benchmark.errors import BenchmarkError
from circuits_benchmark.models.registry import load_benchmark_model


def _random_model(task: str, arch: str, hidden: int, n: int):
    spec = ZooSpec(task, arch, hidden, n)
    generator = data_generator("test", spec.name)
    outputs = spec.task_def.n_outputs(n)
    weights = init_transformer_weights(hidden, n, generator) if arch == "transformer" else init_rnn_weights(hidden, outputs, generator)
    return model_from_weights(spec, weights)


@pytest.mark.parametrize(
    ("task", "arch", "hidden", "n", "expected"),
    [
        ("2nd_argmax", "rnn", 2, 2, 10),  # the spec's notable sizes
        ("2nd_argmax", "rnn", 4, 3, 32),
        ("2nd_argmax", "rnn", 16, 10, 432),
        ("median", "rnn", 8, 5, 8 + 64 + 8),  # scalar head: h + h^2 + h
        ("argmedian", "rnn", 32, 11, 32 + 32**2 + 11 * 32),
        ("longest_cycle", "transformer", 4, 4, 3 * 4 * 4 + 8 * 16),
        ("longest_cycle", "transformer", 8, 6, 3 * 6 * 8 + 8 * 64),
    ],
)
def test_parameter_counts_match_the_spec_formulas(task: str, arch: str, hidden: int, n: int, expected: int) -> None:
    model = _random_model(task, arch, hidden, n)
    assert parameter_count(task, arch, hidden, n) == expected
    assert model.parameter_count() == expected
    assert sum(p.numel() for p in model.network.parameters()) == expected


def test_task_targets() -> None:
    x = torch.tensor([[0.3, 2.0, -1.0, 1.5], [5.0, 4.0, 3.0, -9.0]])
    assert get_task("2nd_argmax").target(x).tolist() == [3, 1]
    assert get_task("argmax").target(x).tolist() == [1, 0]
    assert get_task("median").target(x).tolist() == pytest.approx([0.9, 3.5])  # mean of the middle two
    assert get_task("argmedian").target(torch.tensor([[0.1, -2.0, 0.5]])).tolist() == [0]
    # mean 0.7: distances 0.4, 1.3, 1.7, 0.8 -> position 2; mean 0.75: 9.75 is farthest
    assert get_task("argoutlier").target(x).tolist() == [2, 3]
    f = torch.tensor([[1, 2, 0, 3], [1, 0, 3, 2], [0, 0, 0, 0]])  # cycles: 3-cycle + fixed point; two 2-cycles; fixed 0
    assert get_task("longest_cycle").target(f).tolist() == [2, 1, 0]


def test_longest_cycle_agrees_with_a_direct_walk_on_every_map() -> None:
    n = 4
    maps = torch.tensor(list(itertools.product(range(n), repeat=n)))

    def longest(f: list[int]) -> int:
        best = 0
        for start in range(n):
            seen, node = {}, start
            while node not in seen:
                seen[node] = len(seen)
                node = f[node]
            best = max(best, len(seen) - seen[node])
        return best - 1

    assert get_task("longest_cycle").target(maps).tolist() == [longest(f) for f in maps.tolist()]


def test_data_is_reproducible_from_its_key() -> None:
    task = get_task("2nd_argmax")
    first = task.sample(5, 8, data_generator("model", "train"))
    again = task.sample(5, 8, data_generator("model", "train"))
    other = task.sample(5, 8, data_generator("model", "validation"))
    assert torch.equal(first[0], again[0]) and not torch.equal(first[0], other[0])


def test_padded_stacks_compute_what_each_model_computes_alone() -> None:
    lengths, hidden = [3, 5, 6], 4
    stack = AttentionStack(lengths, hidden)
    for index, n in enumerate(lengths):
        _place(stack, index, init_transformer_weights(hidden, n, data_generator("stack", index)))
    tokens = [torch.randint(0, n, (9, n)) for n in lengths]
    logits = stack(torch.stack([F.pad(t, (6 - t.shape[1], 0)) for t in tokens]))
    for index, n in enumerate(lengths):
        alone = export_transformer(_member_weights(stack, index))
        assert torch.allclose(logits[index, :, :n], alone(tokens[index])[:, -1], atol=1e-5)

    rnn = ReluRNN(hidden, [2, 5])
    for index, n in enumerate((2, 5)):
        _place(rnn, index, init_rnn_weights(hidden, n, data_generator("rnn", index)))
    x = torch.randn(2, 7, 5)
    x[0, :, :3] = 0  # the 2-long model sees its inputs left-padded with zeros
    alone = ReluRNN(hidden, [2])
    _place(alone, 0, _member_weights(rnn, 0))
    assert torch.allclose(rnn(x)[0, :, :2], alone(x[:1, :, 3:])[0], atol=1e-6)


@pytest.mark.parametrize("model_id", ["algzoo:2nd_argmax:rnn:h2:n2:handbuilt", "algzoo:2nd_argmax:rnn:h10:n3:handbuilt"])
def test_handbuilt_models_are_exact(model_id: str) -> None:
    model = load_zoo_model(model_id)
    assert evaluate_model(model, samples=2**17) == 1.0
    assert ESTIMATORS["quadrature"].estimate(model, 500, seed=0).accuracy == pytest.approx(1.0)


def test_a_short_training_run_learns_the_32_parameter_model(tmp_path: Path) -> None:
    spec = ZooSpec("2nd_argmax", "rnn", 4, 3)
    plan = plan_training([spec], Recipe(steps=2000, candidates=8), tmp_path)
    (model,) = run_training(plan, tmp_path)
    assert model.parameter_count() == 32
    assert evaluate_model(model, samples=2**16) > 0.9  # chance is 1/3; the reference reaches 98.5%
    stored = load_zoo_model("algzoo:2nd_argmax:rnn:h4:n3", tmp_path)
    assert stored.spec.name == spec.name and stored.record["recipe"]["steps"] == 2000
    assert plan_training([spec], Recipe(steps=2000, candidates=8), tmp_path).jobs == ()  # already trained


def test_training_resumes_from_its_checkpoint_with_the_same_result(tmp_path: Path) -> None:
    specs = [ZooSpec("2nd_argmax", "rnn", 3, 2), ZooSpec("2nd_argmax", "rnn", 3, 4)]
    recipe = Recipe(steps=160, candidates=3, keep=2, batch_size=256)  # 10 screening steps, then 160
    whole = run_training(plan_training(specs, recipe, tmp_path / "whole"), tmp_path / "whole", checkpoint_every=40)

    calls = []

    def interrupt_at_100(n: int) -> None:
        calls.append(n)
        if sum(calls) >= 100:
            raise KeyboardInterrupt

    plan = plan_training(specs, recipe, tmp_path / "split")
    with pytest.raises(KeyboardInterrupt):
        run_training(plan, tmp_path / "split", interrupt_at_100, checkpoint_every=40)
    resumed_calls: list[int] = []
    resumed = run_training(plan, tmp_path / "split", resumed_calls.append, checkpoint_every=40)
    assert resumed_calls[:2] == [10, 80]  # screening done, 80 training steps restored from the checkpoint
    assert sum(resumed_calls) == plan.total_steps
    for a, b in zip(whole, resumed):
        assert a.record["candidate"] == b.record["candidate"]
        for name, weight in a.weights().items():
            assert torch.allclose(weight, b.weights()[name], atol=1e-6), name


def test_registry_loads_algzoo_transformers(tmp_path: Path) -> None:
    with pytest.raises(BenchmarkError, match="train algzoo --task longest_cycle --arch transformer --hidden 4 --seq-len 4"):
        load_benchmark_model("algzoo:longest_cycle:transformer:h4:n4", tmp_path)
    spec = ZooSpec("longest_cycle", "transformer", 4, 4)
    run_training(plan_training([spec], Recipe(steps=30, candidates=1, batch_size=128), tmp_path), tmp_path)
    loaded = load_benchmark_model("algzoo:longest_cycle:transformer:h4:n4", tmp_path)
    assert loaded.model_id == spec.model_id and loaded.ground_truths == {}
    assert loaded.metric_positions.tolist() == [False, False, False, True]
    tokens = loaded.sample_tokens(np.random.default_rng(0), 6)
    assert tokens.shape == (6, 4) and int(tokens.max()) < 4
    assert loaded.model(tokens).shape == (6, 4, 4)
    # The newer learned-mask and sampling methods run on AlgZoo transformers too (no ground truth: no AUROC).
    from circuits_benchmark.discovery.settings import MethodSettings
    from circuits_benchmark.runs import RunConfig, apply_method, build_problem, evaluate_output

    for method in ("edge-pruning", "ugs"):
        config = RunConfig(method, spec.model_id, MethodSettings(epochs=20), n_examples=16)
        problem = build_problem(loaded, config)
        output, cost = apply_method(problem, config)
        result = evaluate_output(problem, output, config, cost)
        assert result.evaluation is None and output.edge_scores.shape == (problem.n_edges,) and cost.forward_pass_equivalents > 0
    # The everyday analyses run on it too, unscored: only the embedding's variables are known.
    from circuits_benchmark.analyses.model_analyses import attention_report, layers_report, probe_report

    probes = probe_report(spec.model_id, tmp_path, n_examples=40)
    assert not probes["scored"] and [v["variable"] for v in probes["variables"]] == ["tokens", "indices"]
    assert attention_report(spec.model_id, tmp_path, 40)["summary"] == {"heads_with_truth": 0, "right": None}
    assert layers_report(spec.model_id, tmp_path, 40)["agreement"] is None


def test_exact_last_input_integration_matches_sampling() -> None:
    model = add_weight_noise(load_zoo_model("algzoo:2nd_argmax:rnn:h10:n3:handbuilt"), 0.3, seed=1)
    prefix = torch.tensor([[0.4, -0.7]], dtype=torch.float64)
    last = torch.randn(200_000, generator=data_generator("last"), dtype=torch.float64)
    sequences = torch.cat([prefix.expand(len(last), -1), last[:, None]], dim=1)
    sampled = (model.predict(sequences.float()).argmax(-1) == get_task("2nd_argmax").target(sequences)).double().mean()
    assert conditional_accuracy(model, prefix).item() == pytest.approx(sampled.item(), abs=3e-3)


def test_the_non_sampling_estimator_beats_sampling_on_a_tiny_rnn() -> None:
    model = load_zoo_model("algzoo:2nd_argmax:rnn:h2:n2:handbuilt")
    study = noise_study(model, ["sampling", "quadrature", "enumeration"], [300.0], noise=0.3, noisy_models=6, truth_samples=2**20)
    rows = {row.estimator: row for row in study.rows}
    assert min(study.true_accuracies) < 0.99  # the noise moved the accuracy
    assert rows["quadrature"].mse < rows["quadrature"].sampling_mse / 10
    assert rows["quadrature"].mse < rows["sampling"].mse
    assert "enumeration" in study.skipped


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: ZooSpec("nope", "rnn", 4, 3), "unknown AlgZoo task"),
        (lambda: ZooSpec("2nd_argmax", "transformer", 4, 3), "use --arch rnn"),
        (lambda: ZooSpec("argmedian", "rnn", 4, 4), "odd sequence length"),
        (lambda: ZooSpec("argoutlier", "rnn", 4, 2), "length >= 3"),
        (lambda: load_zoo_model("algzoo:2nd_argmax:rnn:4:3"), "malformed AlgZoo model id"),
        (lambda: load_zoo_model("algzoo:argmax:rnn:h3:n3:handbuilt"), "no hand-built model"),
        (lambda: Recipe(candidates=2, keep=3), "cannot keep 3 of 2"),
        (lambda: specs_to_train(True, None, 1, "median", None, None, None, 0), "drop --task"),
        (lambda: specs_to_train(False, None, 1, "median", None, None, 3, 0), "give --hidden"),
        (lambda: noise_study(load_zoo_model("algzoo:2nd_argmax:rnn:h2:n2:handbuilt"), ["magic"], [10.0]), "unknown estimator"),
    ],
)
def test_bad_input_raises_benchmark_error(call, message: str) -> None:
    with pytest.raises(BenchmarkError, match=message):
        call()


def test_missing_model_names_the_train_command(tmp_path: Path) -> None:
    with pytest.raises(BenchmarkError, match=r"train algzoo --task 2nd_argmax --arch rnn --hidden 4 --seq-len 3 .* --seed 2"):
        load_zoo_model("algzoo:2nd_argmax:rnn:h4:n3:s2", tmp_path)


def test_cli_trains_reports_and_rejects_bad_input(tmp_path: Path, cli) -> None:
    out = str(tmp_path)
    trained = cli("train", "algzoo", "--task", "2nd_argmax", "--hidden", "2", "--seq-len", "2", "--steps", "200", "-o", out)
    assert trained.exit_code == 0, trained.stderr
    assert "2nd_argmax-rnn-h2-n2-s0" in trained.stdout and (tmp_path / "algzoo/2nd_argmax-rnn-h2-n2-s0/model.safetensors").exists()
    report = cli("eval", "algzoo", "--samples", "4096", "-o", out)
    assert report.exit_code == 0, report.stderr
    assert "(98.5)" in report.stdout and "200 steps" in report.stdout and "handbuilt" in report.stdout
    assert "ours on 4,096 fresh samples" in " ".join(report.stdout.split()) and "1,048,576" not in report.stdout
    assert (tmp_path / "algzoo/accuracy.png").read_bytes()[:4] == b"\x89PNG"
    bad = cli("train", "algzoo", "--task", "argmedian", "--hidden", "4", "--seq-len", "4", "-o", out)
    assert bad.exit_code == 2 and bad.stderr.startswith("error:") and "odd sequence length" in bad.stderr
    assert "Traceback" not in bad.stderr
