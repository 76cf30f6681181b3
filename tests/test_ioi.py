"""IOI: the sentences and their split, the high-level causal model against hand-checked sentences,
its ground truth, and SIIT's objectives on it (test_ioi_model.py takes an IOI model through the pipeline)."""

from __future__ import annotations

import collections
import itertools

from pathlib import Path

import numpy as np
import pytest
import torch

from circuits_benchmark.training.task_families import parse_task_keys
from circuits_benchmark.errors import BenchmarkError
from circuits_benchmark.ioi import high_level, sentences
from circuits_benchmark.ioi.high_level import IoiCausalModel
from circuits_benchmark.training.task import fresh_ll_model
from circuits_benchmark.training.task_families import build_task


@pytest.fixture(scope="module")
def hl() -> IoiCausalModel:
    return IoiCausalModel(sentences.tokenizer())


def test_the_task_has_the_names_and_templates_the_issue_asks_for() -> None:
    assert len(set(sentences.NAMES)) == len(sentences.NAMES) >= 50
    assert len(sentences.TEMPLATES) >= 15
    words = sentences.template_words()
    assert not set(sentences.NAMES) & set(words + list(sentences.PLACES) + list(sentences.OBJECTS))


@pytest.mark.parametrize("template", range(len(sentences.TEMPLATES)))
def test_every_template_repeats_only_the_subject_and_has_one_length(template: int) -> None:
    for order in sentences.ORDERS:
        sentence = sentences.fill(template, order, "Mary", "John", "store", "drink")
        counts = collections.Counter(sentence.words)
        assert len(sentence.words) == sentences.SENTENCE_LENGTH
        assert counts["Mary"] == 2 and counts["John"] == 1
        assert all(count == 1 for word, count in counts.items() if word != "Mary")
        first_names = [w for w in sentence.words if w in ("Mary", "John")][:2]
        assert first_names == (["Mary", "John"] if order == "BABA" else ["John", "Mary"])


def test_a_sentence_reads_as_english() -> None:
    sentence = sentences.fill(1, "ABBA", "John", "Mary", "store", "drink")
    assert sentence.text == "When Mary and John arrived at the store, John handed a drink to"
    assert sentence.indirect_object == "Mary"


def test_no_held_out_sentence_shares_a_template_or_name_pair_with_training() -> None:
    rng = np.random.default_rng(0)
    train = sentences.sample_sentences(rng, 3000, held_out=False)
    test = sentences.sample_sentences(rng, 3000, held_out=True)
    assert {s.template for s in train}.isdisjoint({s.template for s in test})
    pairs = lambda side: {frozenset((s.subject, s.indirect_object)) for s in side}  # noqa: E731
    assert pairs(train).isdisjoint(pairs(test))
    # Every name is seen in training, and every word of a held-out template too.
    assert {s.subject for s in train} | {s.indirect_object for s in train} == set(sentences.NAMES)
    trained_words = {w for t in sentences.templates(held_out=False) for w in sentences.words_of(sentences.TEMPLATES[t])}
    for template in sentences.templates(held_out=True):
        assert set(sentences.words_of(sentences.TEMPLATES[template])) <= trained_words
    all_pairs = set(itertools.combinations(sentences.NAMES, 2))
    assert set(sentences.name_pairs(True)) | set(sentences.name_pairs(False)) == all_pairs


def test_scrambled_sentences_move_the_names_and_keep_their_answer(hl: IoiCausalModel) -> None:
    rng = np.random.default_rng(3)
    natural = sentences.sample_sentences(rng, 400, held_out=False)
    scrambled = sentences.scramble_share(natural, 0.5, rng)
    changed = [(n, s) for n, s in zip(natural, scrambled) if n != s]
    assert 140 < len(changed) < 260
    repeats, orders = set(), collections.Counter()
    for before, after in changed:
        names = {"B": before.subject, "A": before.indirect_object}
        mentions = [w for w in after.words if w in names.values()]
        assert mentions == [names[letter] for letter in after.order[:3]] and after.words[-1] not in mentions
        counts = collections.Counter(after.words)
        assert all(count == 1 for word, count in counts.items() if word != before.subject)
        assert set(after.words) - set(mentions) <= set(sentences.filler_words())
        repeats.add(max(i for i, w in enumerate(after.words) if w == before.subject))
        orders[after.order] += 1
    assert len(repeats) >= 8  # S2 stands anywhere, not only where templates put it
    assert set(orders) == set(sentences.SCRAMBLED_ORDERS)  # and sometimes before IO is named
    logits, _ = hl.run(sentences.encode([s for _, s in changed]))
    predicted = [sentences.NAMES[i] for i in logits[:, -1].argmax(dim=-1).tolist()]
    assert predicted == [s.indirect_object for _, s in changed]


def test_scrambling_training_sentences_leaves_the_held_out_ones_as_drawn() -> None:
    task = build_task("ioi", Path("results"), 0)
    rng = np.random.default_rng(0)
    sentences.sample_sentences(rng, sentences.TRAIN_SENTENCES, held_out=False)
    held_out = sentences.encode(sentences.sample_sentences(rng, sentences.TEST_SENTENCES, held_out=True))
    assert {tuple(row) for row in task.split.test.tolist()} == {tuple(row) for row in held_out.tolist()}
    words = sentences.tokenizer().input_tokens
    patterns = [sentences.words_of(template) for template in sentences.TEMPLATES]
    natural = sum(
        any(all(p.startswith("{") or p == words[i] for p, i in zip(pattern, row[1:])) for pattern in patterns)
        for row in task.split.train[:2000].tolist()
    ) / 2000  # rows that spell a template (names, place and object aside)
    assert abs(natural - (1 - high_level.SCRAMBLED_SHARE)) < 0.05


def test_the_tokenizer_reads_words_and_refuses_others() -> None:
    tokenizer = sentences.tokenizer()
    sentence = sentences.fill(0, "BABA", "Mary", "John", "park", "book")
    tokens = sentences.encode([sentence])
    assert tokenizer.to_str_tokens(tokens)[0] == ["BOS", *sentence.words]
    with pytest.raises(BenchmarkError, match="not in the vocabulary"):
        tokenizer.encode([["Then", "Zaphod"]])


def test_the_causal_model_predicts_the_indirect_object(hl: IoiCausalModel) -> None:
    sampled = sentences.sample_sentences(np.random.default_rng(1), 500)
    logits, values = hl.run(sentences.encode(sampled))
    predicted = [sentences.NAMES[i] for i in logits[:, -1].argmax(dim=-1).tolist()]
    assert predicted == [s.indirect_object for s in sampled]
    duplicate, s_inhibition, _ = values
    # duplicate fires once per sentence, at S2, pointing at S1 (positions count BOS)
    for row, sentence in zip(range(len(sampled)), sampled):
        mentions = [i + 1 for i, word in enumerate(sentence.words) if word == sentence.subject]
        fired = (duplicate[row] >= 0).nonzero().flatten().tolist()
        assert fired == [mentions[1]] and duplicate[row, mentions[1]] == mentions[0]
        assert s_inhibition[row, mentions[1]] == sentences.tokenizer().input_tokens.index(sentence.subject)


def test_interchanges_follow_the_causal_graph(hl: IoiCausalModel) -> None:
    """Hand-checked: base "Mary ... John ... Mary gave ... to" -> John."""
    base = sentences.fill(1, "BABA", "Mary", "John", "store", "drink")  # S2 at word 9
    same_subject = sentences.fill(2, "ABBA", "Mary", "Alice", "park", "ring")  # S2 at word 8
    other_subject = sentences.fill(1, "BABA", "Peter", "Anna", "park", "ring")  # S2 at word 9
    tokens = sentences.encode([base, base, base, base])
    sources = sentences.encode([same_subject, other_subject, other_subject, same_subject])
    _, source_values = hl.run(sources)

    def answer(node: str, row: int) -> str:
        node_index = torch.full((4,), high_level.NODES.index(node))
        logits = hl.interchange(tokens, node_index, source_values)
        return sentences.NAMES[int(logits[row, -1].argmax())]

    # s_inhibition: inhibiting the same name changes nothing; inhibiting another name (Peter)
    # leaves Mary (two mentions) ahead of John.
    assert answer("s_inhibition", 0) == "John" and answer("s_inhibition", 1) == "Mary"
    # duplicate: a flag at the same position still inhibits Mary; at word 8 it flags "," instead.
    assert answer("duplicate", 1) == "John" and answer("duplicate", 3) == "Mary"
    # name_mover: the source's own answer.
    assert answer("name_mover", 1) == "Anna" and answer("name_mover", 0) == "Alice"


def test_the_ground_truth_is_the_reference_graph_through_the_correspondence() -> None:
    truth = high_level.ll_ground_truth()
    assert set(truth.canonical().edges) == {
        ("embed", "a1.h1"), ("embed", "a2.h1"), ("embed", "a4.h1"),
        ("a1.h1", "a2.h1"), ("a2.h1", "a4.h1"), ("a4.h1", "output"),
    }
    assert ("embed", "a1.h1.v") not in truth.edges and ("a2.h1", "a4.h1.q") in truth.edges


def test_siit_objectives_run_on_the_causal_model() -> None:
    task = build_task("ioi", Path("results"), 0)
    assert task.split.train.shape[1] == task.split.test.shape[1] == sentences.SENTENCE_LENGTH + 1
    assert task.targeted.tolist() == [False] * sentences.SENTENCE_LENGTH + [True]
    model = fresh_ll_model(task.ll_config, seed=0, std=task.init_std)
    objective = task.objective(model)
    tokens = task.split.train[:16]
    generator = torch.Generator().manual_seed(0)
    outputs = objective.run(tokens, torch.arange(16).roll(-1), torch.arange(16) % 3, objective.strict_masks(16, generator))
    losses = objective.losses(outputs)
    assert set(losses) == {"behaviour", "iit", "strict"} and all(torch.isfinite(v) for v in losses.values())
    sum(losses.values()).backward()
    assert model.blocks[4].attn.W_V.grad.abs().sum() > 0
    counts = objective.match_counts(outputs)
    assert counts["accuracy"][1] == 16  # one targeted position per sentence


def test_ioi_is_a_case_key_on_the_command_line() -> None:
    assert parse_task_keys("ioi") == ["ioi"] and parse_task_keys("3,ioi") == [3, "ioi"]
    from circuits_benchmark.cases import parse_case_ids

    with pytest.raises(BenchmarkError, match="'ioi' is not a tracr case id"):
        parse_case_ids("ioi")


def test_subject_pairing_makes_same_subject_iit_pairs_and_keeps_every_sentence() -> None:
    task = build_task("ioi", Path("results"), 0)
    generator = torch.Generator().manual_seed(1)
    order = torch.randperm(len(task.split.train), generator=generator)
    paired = task.pair_order(order, generator)
    assert sorted(paired.tolist()) == list(range(len(order)))  # a permutation still
    subjects = high_level.SubjectPairing(task.split.train, 0.25).subjects
    names = sentences.tokenizer().input_tokens
    assert names[int(subjects[0])] in sentences.NAMES
    even = len(order) // 2 * 2  # an odd count leaves the last sentence without a partner
    same = (subjects[paired[0:even:2]] == subjects[paired[1:even:2]]).float().mean()
    at_random = (subjects[order[0:even:2]] == subjects[order[1:even:2]]).float().mean()
    assert at_random < 0.05 and 0.2 < same < 0.3


@pytest.mark.slow
def test_two_threaded_training_runs_from_one_seed_learn_the_same_weights(tmp_path, monkeypatch) -> None:
    """With two torch threads some CPU kernels add up in a varying order unless training asks for
    deterministic ones: the same seed must give bit-identical weights (here: 16 IOI steps, about
    two CPU minutes; the fast selection checks that training runs on deterministic kernels, in
    test_siit.py's test of resuming)."""
    import dataclasses

    from circuits_benchmark.training import trainer
    from circuits_benchmark.training.data_split import InputSplit
    from circuits_benchmark.training.siit_models import load_run
    from circuits_benchmark.training.settings import SiitSettings
    from circuits_benchmark.training.trainer import train_siit

    task = build_task("ioi", Path("results"), 0)
    train = task.split.train[:512]
    small = dataclasses.replace(
        task, split=InputSplit(train=train, test=task.split.test[:64]),
        pair_order=high_level.SubjectPairing(train, high_level.SAME_SUBJECT_SHARE).pair,
    )
    monkeypatch.setattr(trainer, "build_task", lambda case, output_dir, seed: small)
    from circuits_benchmark.training.task_families import task_family

    monkeypatch.setattr(task_family("ioi"), "check_ground_truth", lambda *args, **kwargs: {})  # weights are what is compared
    settings = SiitSettings(epochs=2, lr=2e-3, early_stop=False)
    previous = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        weights = []
        for name in ("first", "second"):
            train_siit("ioi", settings, tmp_path / name)
            weights.append(load_run(tmp_path / name, "ioi").model.state_dict())
    finally:
        torch.set_num_threads(previous)
    assert all(torch.equal(weights[0][name], weights[1][name]) for name in weights[0])
