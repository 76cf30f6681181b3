"""IOI sentences made by the project: names, templates, a word-level tokenizer and a leak-free split.

"When Mary and John arrived at the store, John handed a drink to" -> Mary. Every template has the
same number of words (so positions line up between sentences, which interchange interventions
need), uses each word once except the subject S, which comes twice, and ends right before the
indirect object IO. BABA templates name S first; their ABBA versions swap the first two names.
Punctuation marks are words of their own.

The split is by template and by name pair: held-out sentences use templates and unordered name
pairs that no training sentence uses, so no test sentence, nor its pair of names in any order, is
ever trained on. Every word of a held-out template occurs in some training template, so the
model has seen each word it is tested on.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import re

import numpy as np
import torch

from circuits_benchmark.cases import BOS
from circuits_benchmark.models.tokenizer import CaseTokenizer

NAMES = (
    "Mary", "John", "Alice", "Bob", "Sarah", "James", "Emma", "David", "Laura", "Peter",
    "Anna", "Mark", "Julia", "Paul", "Kate", "Tom", "Lucy", "Sam", "Rose", "Jack",
    "Helen", "Adam", "Grace", "Luke", "Clara", "Ben", "Ella", "Max", "Amy", "Dan",
    "Sophie", "Ryan", "Chloe", "Eric", "Nina", "Carl", "Lily", "Frank", "Jane", "Oscar",
    "Maya", "Hugo", "Ruth", "Ivan", "Zoe", "Leo", "Iris", "Noah", "Vera", "Owen",
    "Tara", "Glen", "Fiona", "Dean", "Alma", "Neil", "Mia", "Seth", "Eva", "Kurt",
)  # fmt: skip
PLACES = ("store", "park", "school", "office", "station", "garden", "hospital", "restaurant")
OBJECTS = ("drink", "book", "ring", "basket", "bone", "snack", "computer", "necklace")

# BABA order: {S} is introduced first, {IO} second, {S} repeated; the sentence stops before IO.
TEMPLATES = (
    "Then, {S} and {IO} visited the {PLACE}. {S} gave a {OBJECT} to",
    "When {S} and {IO} arrived at the {PLACE}, {S} handed a {OBJECT} to",
    "After {S} and {IO} reached the {PLACE}, {S} passed a {OBJECT} over to",
    "{S} and {IO} were at the {PLACE}. Then {S} passed a {OBJECT} to",
    "While {S} and {IO} were at the {PLACE}, {S} brought a {OBJECT} to",
    "Once {S} and {IO} entered the {PLACE}, {S} quickly threw a {OBJECT} to",
    "Yesterday {S} and {IO} cleaned the {PLACE}. Later {S} sold a {OBJECT} to",
    "{S} and {IO} found the {PLACE} closed, so {S} gave a {OBJECT} to",
    "At the {PLACE}, {S} and {IO} talked. {S} gave a {OBJECT} to",
    "In the {PLACE}, {S} and {IO} argued. {S} threw a {OBJECT} to",
    "{S} met {IO} at the {PLACE}, where {S} later showed a {OBJECT} to",
    "Today {S} and {IO} walked into the {PLACE}. {S} gave a {OBJECT} to",
    "{S} and {IO} left the {PLACE}. Then, {S} handed a {OBJECT} to",
    "As {S} and {IO} were leaving the {PLACE}, {S} passed a {OBJECT} to",
    "{S} and {IO} had lunch at the {PLACE}. {S} gave a {OBJECT} to",
    "{S} told {IO} that {S} would bring a {OBJECT} from the {PLACE} tomorrow for",
    "{S} and {IO} were hungry. {S} bought a {OBJECT} at the {PLACE} for",
    "Sunday, {S} and {IO} visited the {PLACE}. {S} sold a {OBJECT} to",
    "{S} and {IO} stopped by the {PLACE}, then {S} gave a {OBJECT} to",
    "Later, {S} and {IO} left the {PLACE}. {S} gave a {OBJECT} to",
    "{S} and {IO} visited the {PLACE}. Later, {S} handed a {OBJECT} to",
    "{S} called {IO}. Later {S} quickly took a {OBJECT} from the {PLACE} for",
    "Inside the big {PLACE}, {S} and {IO} sat down. {S} waved to",
    "{S} met {IO} at the {PLACE}, and {S} passed a {OBJECT} over to",
    "{S} told {IO} that {S} would later bring a {OBJECT} from the {PLACE} for",
)
# Held out: templates whose every word also occurs in a training template, with S2 at three
# different places (so that interventions on the duplicate node change held-out answers too).
TEST_TEMPLATES = (0, 20, 23, 24)
TEST_PAIR_FRACTION = 0.2
# Sentences drawn for SIIT training and for its held-out metrics (of millions possible).
TRAIN_SENTENCES = 20_000
TEST_SENTENCES = 1_000
ORDERS = ("BABA", "ABBA")
# Scrambled training sentences add the order in which S repeats before IO is named, so that the
# repeated name is not always the last one mentioned.
SCRAMBLED_ORDERS = (*ORDERS, "BBAA")
WORD = re.compile(r"\{\w+\}|\w+|[^\w\s]")


def words_of(text: str) -> list[str]:
    """A sentence (or template) as its words: word characters runs and single punctuation marks."""
    return WORD.findall(text)


SENTENCE_LENGTH = len(words_of(TEMPLATES[0]))


@dataclasses.dataclass(frozen=True)
class Sentence:
    """One IOI prompt: its words (without the answer), subject S and indirect object IO."""

    words: tuple[str, ...]
    subject: str
    indirect_object: str
    template: int
    order: str

    @property
    def text(self) -> str:
        return re.sub(r" ([^\w\s])", r"\1", " ".join(self.words))


def fill(template: int, order: str, subject: str, indirect_object: str, place: str, obj: str) -> Sentence:
    """The sentence of a template in an order (ABBA swaps the first mention of S and IO)."""
    words = []
    mentions = 0
    for word in words_of(TEMPLATES[template]):
        if word in ("{S}", "{IO}"):
            first_two = mentions < 2
            mentions += 1
            swap = order == "ABBA" and first_two
            is_subject = (word == "{S}") != swap
            words.append(subject if is_subject else indirect_object)
        else:
            words.append({"{PLACE}": place, "{OBJECT}": obj}.get(word, word))
    return Sentence(tuple(words), subject, indirect_object, template, order)


def template_words() -> list[str]:
    """Every word of the templates besides the placeholders, in order of first use."""
    seen = (w for t in TEMPLATES for w in words_of(t) if not w.startswith("{"))
    return list(dict.fromkeys(seen))


def tokenizer() -> CaseTokenizer:
    """The word-level tokenizer: BOS, names, places, objects, template words; outputs are the names."""
    vocabulary = [BOS, *NAMES, *PLACES, *OBJECTS, *template_words()]
    return CaseTokenizer(input_tokens=vocabulary, output_classes=list(NAMES), max_seq_len=SENTENCE_LENGTH + 1)


def encode(sentences: list[Sentence]) -> torch.Tensor:
    """Token ids [n, 1 + SENTENCE_LENGTH], BOS first."""
    return tokenizer().encode([list(s.words) for s in sentences])


def name_pairs(held_out: bool, seed: int = 0) -> list[tuple[str, str]]:
    """Unordered name pairs on one side of the split (a fixed shuffle of all pairs, cut once)."""
    pairs = list(itertools.combinations(NAMES, 2))
    order = np.random.default_rng(seed).permutation(len(pairs))
    n_test = round(TEST_PAIR_FRACTION * len(pairs))
    chosen = order[:n_test] if held_out else order[n_test:]
    return [pairs[i] for i in sorted(chosen)]


def templates(held_out: bool) -> list[int]:
    """Template indices on one side of the split."""
    return [i for i in range(len(TEMPLATES)) if (i in TEST_TEMPLATES) == held_out]


def sample_sentences(rng: np.random.Generator, count: int, held_out: bool | None = None) -> list[Sentence]:
    """`count` sentences drawn uniformly: template, order, name pair (and which name is S), place, object.

    `held_out` True or False draws from one side of the split only; None from all sentences.
    """
    sides = (False, True) if held_out is None else (held_out,)
    template_pool = [t for side in sides for t in templates(side)]
    pair_pools = {side: name_pairs(side) for side in sides}
    sentences = []
    for _ in range(count):
        template = template_pool[rng.integers(len(template_pool))]
        pool = pair_pools[template in TEST_TEMPLATES] if held_out is None else pair_pools[held_out]
        first, second = pool[rng.integers(len(pool))]
        subject, indirect_object = (first, second) if rng.random() < 0.5 else (second, first)
        order = ORDERS[rng.integers(2)]
        place, obj = PLACES[rng.integers(len(PLACES))], OBJECTS[rng.integers(len(OBJECTS))]
        sentences.append(fill(template, order, subject, indirect_object, place, obj))
    return sentences


@functools.cache
def filler_words() -> tuple[str, ...]:
    """Every word but the names: what a scrambled sentence draws its words from (built once: the
    training split scrambles about 10,000 sentences)."""
    return (*PLACES, *OBJECTS, *template_words())


def scramble(sentence: Sentence, rng: np.random.Generator) -> Sentence:
    """The sentence's words redrawn from `filler_words` (each at most once, so S stays the only
    repeated word) and its three name mentions moved to random places (never the last word), in
    one of SCRAMBLED_ORDERS; the answer stays IO."""
    fillers = filler_words()
    length = len(sentence.words)
    order = SCRAMBLED_ORDERS[rng.integers(len(SCRAMBLED_ORDERS))]
    places = sorted(rng.choice(length - 1, size=3, replace=False).tolist())
    # In an order's name, B stands for S and A for IO; its last letter is the answer.
    names = {place: sentence.subject if letter == "B" else sentence.indirect_object for place, letter in zip(places, order)}
    drawn = iter(rng.choice(len(fillers), size=length, replace=False).tolist())
    words = tuple(names[i] if i in names else fillers[next(drawn)] for i in range(length))
    return dataclasses.replace(sentence, words=words, order=order)


def scramble_share(sentences: list[Sentence], share: float, rng: np.random.Generator) -> list[Sentence]:
    """`sentences` with each one scrambled with probability `share`."""
    return [scramble(s, rng) if rng.random() < share else s for s in sentences]
