"""A hard task's program: its knobs (`HardSpec`), its vocabulary and the inputs it is asked about.

Every hard task reads BOS followed by `LENGTH` tokens. Position `COPY_SOURCE` and the answer
positions hold content tokens; the positions of `SPECIAL_REGION` hold content tokens, the marker
(exactly once, when the task locates it) and the rare token (at most once, in a `rare_share` of
the inputs the benchmark draws). Answers are read at the last positions only:

- `COPY_AT`: the token at `COPY_SOURCE` (voted on by the copies), or the class `rare` when the
  rare token occurs;
- `LOOKUP_AT`: the program's table (a permutation of the content tokens, drawn from `program`)
  applied to the token there;
- `LOCATE_AT` (tasks that locate): the token right after the marker.

Side outputs (the distractor, `HardSpec.distractor` of them) are not part of the task: side output j
is read at position `SIDE_OUTPUTS[j][0]` and is the class of the token at position
`SIDE_OUTPUTS[j][1]` (`side_class`: a content token's class, `rare` for the marker and the rare
token). The model computes them beside the task, with heads outside the task's circuit. The MLP
side output (`HardSpec.side_mlp`) is read at `SIDE_MLP_AT` and is a second table (`side_table`)
applied to the token there, computed by MLP 1 where it is not the backup.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
import torch

from circuits_benchmark.errors import BenchmarkError
from circuits_benchmark.models.tokenizer import BOS, CaseTokenizer

CONTENT = ("a", "b", "c", "d", "e", "f")
MARKER = "M"
RARE = "R"
LENGTH = 8
COPY_SOURCE = 1
SPECIAL_REGION = (2, 3, 4, 5)
LOCATE_AT, LOOKUP_AT, COPY_AT = 6, 7, 8
INPUT_TOKENS = (BOS, *CONTENT, MARKER, RARE)
OUTPUT_CLASSES = (*CONTENT, "rare")
# Token ids: BOS is 0, content token i is i + 1; content class i is i.
MARKER_ID, RARE_ID = INPUT_TOKENS.index(MARKER), INPUT_TOKENS.index(RARE)
RARE_CLASS = OUTPUT_CLASSES.index("rare")
# The share of training and held-out inputs that hold the rare token, whatever its share in the
# benchmark's inputs: at a few percent the model would see too few of them to learn the part.
RARE_TRAINING_SHARE = 0.3
# Side outputs (distractors): (position read at, position of the token it reports). Each reads an
# earlier position (a head must move the token; the current one would reach the output directly).
SIDE_OUTPUTS = ((5, 2), (4, 1), (3, 2), (2, 1))
# The MLP side output is read at the copy source, the one position no other output is read at.
SIDE_MLP_AT = COPY_SOURCE
# The smallest and largest factor `saturation` accepts: below 0.3 the locate head's softened
# attention lets answers change with only the circuit kept (0.2: 5.7% of them), above 3 its
# sharpened one (10: 1.0%; EXPERIMENTS.md).
MAX_SATURATION = 3.0
MIN_SATURATION = 0.3


@dataclasses.dataclass(frozen=True)
class HardSpec:
    """The knobs of one hard task; each mechanism is off at its default.

    copies: odd number of heads that each copy the `COPY_AT` answer, combined by a vote (1: no
        redundancy); `backup`: an MLP that repairs the lookup MLP when it is ablated (self-repair);
    locate: whether the task has the marker and its answer, the token after it (the part saturation acts on);
    saturation: factor on the attention logits of the head that finds the token after the marker
        and on the output logits, applied after training (`hard.edits`): 1 leaves the trained
        model, which SIIT leaves saturated (one-hot attention, answers at probability ~1); below
        1 is a higher temperature (the unsaturated end), above 1 a sharper one; other than 1
        only for a task that locates;
    rare_share: share of benchmark inputs that hold the rare token, whose detector then overrides
        the copy answer (0: no rare part);
    distractor: how many side outputs (`SIDE_OUTPUTS`) the model computes beside the task, each
        with a head outside the task's circuit (0: none);
    side_mlp: whether MLP 1, outside the circuit, computes a side output too (a task without backup);
    program: seed of the lookup table.
    """

    copies: int = 1
    backup: bool = False
    locate: bool = False
    saturation: float = 1.0
    rare_share: float = 0.0
    distractor: int = 0
    side_mlp: bool = False
    program: int = 0

    def __post_init__(self) -> None:
        if self.copies < 1 or self.copies % 2 == 0:
            raise BenchmarkError(f"copies must be odd and at least 1 (a vote needs a majority), got {self.copies}")
        if not (math.isfinite(self.saturation) and MIN_SATURATION <= self.saturation <= MAX_SATURATION) or (self.saturation != 1 and not self.locate):
            raise BenchmarkError(
                f"saturation must lie in [{MIN_SATURATION:g}, {MAX_SATURATION:g}], and differ from 1 only for a task that locates, got {self.saturation}"
            )
        if not 0 <= self.rare_share <= 0.5:
            raise BenchmarkError(f"rare_share must lie in [0, 0.5], got {self.rare_share}")
        if self.distractor not in range(len(SIDE_OUTPUTS) + 1):
            raise BenchmarkError(f"distractor must be a number of side outputs from 0 to {len(SIDE_OUTPUTS)}, got {self.distractor}")
        if self.side_mlp and self.backup:
            raise BenchmarkError("side_mlp needs MLP 1, which is the backup: a task has one or the other")

    @property
    def rare(self) -> bool:
        return self.rare_share > 0

    @property
    def answer_positions(self) -> tuple[int, ...]:
        """Where the task's answers are read."""
        return ((LOCATE_AT,) if self.locate else ()) + (LOOKUP_AT, COPY_AT)

    @property
    def side_outputs(self) -> tuple[tuple[int, int], ...]:
        """(position read at, position reported) of each side output."""
        return SIDE_OUTPUTS[: self.distractor]

    @property
    def output_positions(self) -> tuple[int, ...]:
        """Every position the model is trained to answer at: the task's, then the side outputs'."""
        heads = tuple(position for position, _ in self.side_outputs)
        return self.answer_positions + heads + ((SIDE_MLP_AT,) if self.side_mlp else ())

    def lookup_table(self) -> torch.Tensor:
        """The lookup answer's table: content class -> content class (a permutation without fixed points)."""
        return _table(np.random.default_rng([self.program, 25]))

    def side_table(self) -> torch.Tensor:
        """The MLP side output's table, drawn like the lookup table from another stream."""
        return _table(np.random.default_rng([self.program, 26]))

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _table(rng: np.random.Generator) -> torch.Tensor:
    """A permutation of the content classes without fixed points."""
    while True:
        table = rng.permutation(len(CONTENT))
        if (table != np.arange(len(CONTENT))).all():
            return torch.tensor(table)


def side_class(tokens: torch.Tensor) -> torch.Tensor:
    """The class an output reports for token ids: a content token's own, `rare` for the others (side
    outputs, and the locate answer when an intervention moves it off the token after the marker)."""
    return (tokens - 1).clamp(min=0, max=RARE_CLASS)


def tokenizer() -> CaseTokenizer:
    """Every hard task's tokenizer."""
    return CaseTokenizer(input_tokens=list(INPUT_TOKENS), output_classes=list(OUTPUT_CLASSES), max_seq_len=LENGTH + 1)


def sample_tokens(spec: HardSpec, rng: np.random.Generator, count: int, rare_share: float | None = None) -> torch.Tensor:
    """Token ids [count, 1 + LENGTH]: content tokens everywhere, the marker once in the special
    region when the task locates, the rare token there in a `rare_share` of the rows (the spec's
    when None)."""
    share = spec.rare_share if rare_share is None else rare_share
    tokens = rng.integers(1, 1 + len(CONTENT), size=(count, 1 + LENGTH))
    tokens[:, 0] = 0
    region = np.array(SPECIAL_REGION)
    places = np.stack([rng.permutation(region) for _ in range(count)]) if count else np.zeros((0, len(region)), int)
    rows = np.arange(count)
    if spec.locate:
        tokens[rows, places[:, 0]] = MARKER_ID
    if spec.rare:
        with_rare = rng.random(count) < share
        # The token after the marker is always a content token: the rare one goes elsewhere.
        follower = places[:, :1] + 1 if spec.locate else np.full((count, 1), -1)
        rare_place = np.where(places[:, 1] == follower[:, 0], places[:, 2], places[:, 1])
        tokens[rows[with_rare], rare_place[with_rare]] = RARE_ID
    return torch.tensor(tokens, dtype=torch.long)
