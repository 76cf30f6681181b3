"""Layer corruption scored against the known circuit (`analyses.layer_corruption`, `eval layers`)."""

from __future__ import annotations

import json
from pathlib import Path

import torch

from circuits_benchmark.circuits.circuit import Circuit
from circuits_benchmark.analyses.layer_corruption import agreement, circuit_layers, corrupt_layers, corruptions
from circuits_benchmark.models.registry import load_benchmark_model
from circuits_benchmark.patching.output_change import PatchingBatch


def test_the_corruptions_of_three_layers() -> None:
    found = {c.name: (c.order, sorted(c.touched)) for c in corruptions(3)}
    assert found == {
        "skip 0": ((1, 2), [0]), "skip 1": ((0, 2), [1]), "skip 2": ((0, 1), [2]),
        "skip first 2": ((2,), [0, 1]), "skip last 2": ((0,), [1, 2]),
        "repeat 0": ((0, 0, 1, 2), [0]), "repeat 1": ((0, 1, 1, 2), [1]), "repeat 2": ((0, 1, 2, 2), [2]),
        "swap 0-1": ((1, 0, 2), [0, 1]), "swap 1-2": ((0, 2, 1), [1, 2]),
        "reverse": ((2, 1, 0), [0, 2]),  # the middle layer stays where it was
    }
    assert circuit_layers(Circuit([("embed", "a1.h0"), ("a1.h0", "m2"), ("m2", "output")])) == {1, 2}


def test_corruptions_of_compiled_models_against_their_circuits(cache_dir: Path) -> None:
    output_dir = cache_dir.parent / "layers"
    (output_dir / "cache").mkdir(parents=True, exist_ok=True)
    model = load_benchmark_model("tracr:21", output_dir)
    batch = PatchingBatch.sample(model, 200, 0)
    # The layers in their own order are the model itself.
    assert torch.equal(model.model.run_layers(batch.clean, range(3)), model.model(batch.clean))
    results = {r.corruption.name: r for r in corrupt_layers(batch, model.ground_truth("resample"))}
    # Every layer of case 21 holds circuit nodes, so every corruption is predicted to change outputs;
    # repeating its first or last layer writes the same values again and changes nothing: the two
    # places where the analysis "repeat a circuit layer and see it break" is wrong.
    assert all(r.predicted_change for r in results.values())
    assert {name for name, r in results.items() if not r.agrees} == {"repeat 0", "repeat 2"}
    assert results["skip 0"].changed_fraction > 0.5 and agreement(list(results.values())) == 9 / 11


def test_eval_layers_writes_its_report(cache_dir: Path, tmp_path: Path, cli) -> None:
    (tmp_path / "cache").mkdir()
    for selection in (["-i", "3", "--tracr"], ["--model", "tracr:3"]):  # by case, or by any model id
        done = cli("eval", "layers", *selection, "-o", str(tmp_path))
        assert done.exit_code == 0 and "agreement with the circuit: 100%" in done.stdout, done.stderr
    report = json.loads((tmp_path / "eval" / "layers" / "case-003" / "tracr" / "result.json").read_text())
    assert report["agreement"] == 1.0 and report["circuit_layers"] == [0, 1]
    assert (tmp_path / "eval" / "layers" / "case-003" / "tracr" / "layers.png").stat().st_size > 1000
