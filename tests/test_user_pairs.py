"""A user's own (clean, corrupted) pairs, from Python and from a file on the command line, and the
corruptions a model offers besides the independent draw (IOI's ABC sentences)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from circuits_benchmark import api
from circuits_benchmark.errors import BenchmarkError
from circuits_benchmark.ioi import sentences
from circuits_benchmark.ioi.task_model import abc_corrupted
from circuits_benchmark.runs import RunConfig, build_problem, user_pairs
from circuits_benchmark.discovery.settings import MethodSettings
from circuits_benchmark.storage.results_db import ResultsStore

# Case 3 (fraction of "x" so far): inputs of 4 vocabulary tokens, BOS added.
CLEAN = [["a", "x", "b", "x"], ["x", "x", "c", "a"], ["b", "a", "x", "c"], ["x", "b", "b", "x"], ["c", "x", "x", "x"], ["a", "b", "c", "a"]]
CORRUPTED = [["b", "b", "x", "a"], ["a", "c", "x", "x"], ["x", "x", "b", "a"], ["c", "a", "a", "b"], ["x", "a", "b", "c"], ["x", "x", "a", "b"]]


def write_pairs(path: Path, clean: list, corrupted: list) -> Path:
    path.write_text(json.dumps({"clean": clean, "corrupted": corrupted}))
    return path


def stored_run_keys(results_dir: Path) -> list[str]:
    with ResultsStore(results_dir) as store:
        return sorted(record.run_key for record in store.runs())


def test_a_method_runs_on_your_pairs_from_python(tmp_path: Path, cache_dir: Path) -> None:
    result = api.run_method("acdc", "tracr:3", pairs=(CLEAN, CORRUPTED), results_dir=tmp_path, models_dir=cache_dir)
    assert result.evaluation.edge_auroc == 1.0  # scored against the ground truth
    pairs = result.to_dict()["config"]["pairs"]
    assert pairs["count"] == 6 and pairs["source"] == "python" and result.config.n_examples == 6
    assert result.result_dir.name.endswith(f"_pairs-{pairs['fingerprint']}")
    assert "the model's own, independent corruption" in result.faithfulness.held_out_pairs
    # The method's batch is the pairs themselves, BOS added.
    problem = build_problem(api.load_model("tracr:3", cache_dir), result.config)
    tokenizer = api.tokenizer("tracr:3", cache_dir)
    assert tokenizer.to_str_tokens(problem.batch.clean) == [["BOS", *row] for row in CLEAN]
    assert tokenizer.to_str_tokens(problem.batch.corrupted) == [["BOS", *row] for row in CORRUPTED]


def test_token_ids_and_tokens_are_the_same_pairs_and_other_pairs_another_run(tmp_path: Path, cache_dir: Path) -> None:
    tokenizer = api.tokenizer("tracr:3", cache_dir)
    as_tokens = user_pairs("tracr:3", cache_dir, (CLEAN, CORRUPTED))
    as_ids = user_pairs("tracr:3", cache_dir, (tokenizer.encode(CLEAN), tokenizer.encode(CORRUPTED)))
    assert as_ids == as_tokens and torch.equal(as_ids.clean, as_tokens.clean)
    swapped = user_pairs("tracr:3", cache_dir, (CORRUPTED, CLEAN))
    assert swapped != as_tokens
    for pairs in (as_tokens, swapped):
        api.run_method("eap", "tracr:3", pairs=pairs_of(pairs), results_dir=tmp_path, models_dir=cache_dir)
    api.run_method("eap", "tracr:3", n_examples=6, results_dir=tmp_path, models_dir=cache_dir)
    keys = stored_run_keys(tmp_path)
    assert len(keys) == 3
    assert sum(f"pairs-{pairs.fingerprint}" in key for key in keys for pairs in (as_tokens, swapped)) == 2


def pairs_of(pairs) -> tuple[torch.Tensor, torch.Tensor]:
    return pairs.clean, pairs.corrupted


def test_a_method_runs_on_a_file_of_pairs_from_the_command_line(tmp_path: Path, cache_dir: Path, cli) -> None:
    path = write_pairs(tmp_path / "pairs.json", CLEAN, CORRUPTED)
    ran = cli("run", "acdc", "-i", "3", "--tracr", "--pairs", str(path), "-o", str(tmp_path), "--models-dir", str(cache_dir))
    assert ran.exit_code == 0, ran.stderr
    assert "AUROC q/k/v edges 1" in ran.stdout
    fingerprint = user_pairs("tracr:3", cache_dir, path).fingerprint
    (key,) = stored_run_keys(tmp_path)
    assert key.endswith(f"_pairs-{fingerprint}")
    stored = json.loads(next(tmp_path.glob("acdc/**/result.json")).read_text())
    assert stored["config"]["pairs"] == {"fingerprint": fingerprint, "count": 6, "source": str(path)}
    assert stored["evaluation"]["edge_auroc"] == 1.0


@pytest.mark.parametrize(
    ("clean", "corrupted", "message"),
    [
        ([["a", "x", "b"]] * 2, [["a", "x", "b"]] * 2, "clean inputs have 3 tokens: this model's inputs have 4"),
        (CLEAN, [["a", "x", "q", "x"]] * 6, "corrupted input 0: token 'q' is not in the vocabulary"),
        (CLEAN, CORRUPTED[:5], "6 clean inputs but 5 corrupted ones"),
        (CLEAN[:1], CORRUPTED[:1], "1 pairs given: at least 2 are needed"),
    ],
)
def test_a_bad_file_of_pairs_is_one_error_line(clean: list, corrupted: list, message: str, tmp_path: Path, cache_dir: Path, cli) -> None:
    path = write_pairs(tmp_path / "pairs.json", clean, corrupted)
    ran = cli("run", "acdc", "-i", "3", "--tracr", "--pairs", str(path), "-o", str(tmp_path), "--models-dir", str(cache_dir))
    errors = [line for line in ran.stderr.splitlines() if line.startswith("error:")]
    assert ran.exit_code == 2 and len(errors) == 1 and "Traceback" not in ran.stderr
    assert message in errors[0] and str(path) in errors[0]
    assert not list(tmp_path.glob("acdc"))


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--pairs", "missing.json"], "cannot read the pairs file missing.json"),
        (["--corruption", "abc"], "tracr:3 has no corruption 'abc': it offers independent"),
    ],
)
def test_a_missing_file_or_corruption_is_one_error_line(extra: list[str], message: str, tmp_path: Path, cache_dir: Path, cli) -> None:
    ran = cli("run", "eap", "-i", "3", "--tracr", *extra, "-o", str(tmp_path), "--models-dir", str(cache_dir))
    assert ran.exit_code == 2 and message in ran.stderr and "Traceback" not in ran.stderr


def test_bad_token_ids_from_python_are_refused(cache_dir: Path) -> None:
    tokenizer = api.tokenizer("tracr:3", cache_dir)
    ids = tokenizer.encode(CLEAN)
    no_bos = ids.roll(1, dims=1)
    for clean, message in [(ids.float(), "integer tensor"), (ids + 10, "token ids must lie in 0..5"), (no_bos, "token ids start with BOS")]:
        with pytest.raises(BenchmarkError, match=message):
            user_pairs("tracr:3", cache_dir, (clean, ids))
    with pytest.raises(BenchmarkError, match="pairs must be"):
        user_pairs("tracr:3", cache_dir, (ids,))


def test_your_pairs_bring_their_own_corruption(cache_dir: Path) -> None:
    config = RunConfig("eap", "tracr:3", MethodSettings(), corruption="abc", pairs=user_pairs("tracr:3", cache_dir, (CLEAN, CORRUPTED)))
    with pytest.raises(BenchmarkError, match="leave out --corruption abc"):
        config.validate()


def test_abc_replaces_s2_by_a_third_name_and_nothing_else() -> None:
    clean_sentences = sentences.sample_sentences(np.random.default_rng(0), 200, held_out=True)
    clean = sentences.encode(clean_sentences)
    corrupted = abc_corrupted(np.random.default_rng(1), clean)
    words = sentences.tokenizer().to_str_tokens(corrupted)
    thirds = set()
    for sentence, clean_row, corrupted_row, row_words in zip(clean_sentences, clean, corrupted, words):
        (changed,) = (clean_row != corrupted_row).nonzero().flatten().tolist()
        # S2 is the subject's second mention: the one the changed position held.
        assert [i for i, word in enumerate(sentence.words) if word == sentence.subject][1] == changed - 1
        third = row_words[changed]
        assert third in sentences.NAMES and third not in (sentence.subject, sentence.indirect_object)
        assert row_words.count(sentence.subject) == 1  # S1 only: no name repeats
        thirds.add(third)
    assert len(thirds) > 20  # C is drawn among the names, not one fixed name


def test_the_ioi_model_offers_abc_pairs_and_its_held_out_pairs_follow_the_corruption(tmp_path: Path) -> None:
    model = api.load_model("siit:ioi", tmp_path)
    clean, corrupted = model.clean_and_corrupted(50, seed=0, corruption="abc")
    assert ((clean != corrupted).sum(dim=1) == 1).all()
    result = api.run_method("eap", "siit:ioi", corruption="abc", n_examples=20, results_dir=tmp_path)
    assert result.config.corruption == "abc" and result.result_dir.name.endswith("_corruption-abc")
    assert "abc corruption" in result.faithfulness.held_out_pairs
    assert result.evaluation.edge_auroc is not None
