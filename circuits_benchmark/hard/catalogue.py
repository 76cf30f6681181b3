"""The hard family's tasks: every named task (`hard-...`) and its knobs, the keys `-i` accepts.

Four keep the names of the first prototypes (`hard-redundant`, `hard-saturated`, `hard-rare`,
`hard-distractor`); every other is named by its knobs (`task_name`): `hard-` then, in order, the
knobs set away from their default, and the program:

    copies3, backup, locate, sat0.25 (saturation), rare3 (rare_share in percent), side2
    (distractor), mside (side_mlp), p1 (program)

The catalogue covers each mechanism alone at several strengths and programs, and combined
(EXPERIMENTS.md lists what was trained and released).
"""

from __future__ import annotations

import dataclasses

from circuits_benchmark.errors import BenchmarkError
from circuits_benchmark.hard.program import HardSpec


def trained_spec(spec: HardSpec) -> HardSpec:
    """The program SIIT trains: the spec without saturation, which acts after training."""
    return dataclasses.replace(spec, saturation=1.0)


def task_name(spec: HardSpec) -> str:
    """The name a task's knobs give it (module docstring)."""
    parts = [f"copies{spec.copies}"] if spec.copies > 1 else []
    parts += ["backup"] * spec.backup + ["locate"] * spec.locate
    parts += [f"sat{spec.saturation:g}"] if spec.saturation != 1 else []
    parts += [f"rare{100 * spec.rare_share:g}"] if spec.rare else []
    parts += [f"side{spec.distractor}"] if spec.distractor else []
    parts += ["mside"] if spec.side_mlp else []
    return "-".join(["hard", *parts, f"p{spec.program}"])


PROTOTYPES = {
    "hard-redundant": HardSpec(copies=3, backup=True),
    "hard-saturated": HardSpec(locate=True, saturation=3.0),
    "hard-rare": HardSpec(rare_share=0.03),
    "hard-distractor": HardSpec(distractor=4),
}

_NAMED_BY_KNOBS = (
    # Each mechanism alone (no side outputs: every head outside the circuit is inert).
    HardSpec(copies=3, program=3),
    HardSpec(backup=True, program=1),
    HardSpec(locate=True, saturation=0.5, program=1),
    HardSpec(rare_share=0.01, program=1),
    # Distractors alone: one, two and four side outputs.
    HardSpec(distractor=1, side_mlp=True, program=1),
    HardSpec(distractor=2, side_mlp=True, program=2),
    HardSpec(distractor=4, side_mlp=True, program=4),
    # One mechanism among distractors: side outputs on every head the circuit leaves free, and on
    # MLP 1 where it is not the backup.
    HardSpec(copies=3, backup=True, distractor=3, program=2),
    HardSpec(copies=3, distractor=3, side_mlp=True, program=5),
    HardSpec(backup=True, distractor=3, program=3),
    HardSpec(locate=True, saturation=0.3, distractor=3, side_mlp=True, program=5),
    HardSpec(locate=True, distractor=3, side_mlp=True, program=7),
    HardSpec(locate=True, saturation=2.0, distractor=3, side_mlp=True, program=6),
    HardSpec(rare_share=0.03, distractor=4, side_mlp=True, program=4),
    HardSpec(rare_share=0.01, distractor=4, side_mlp=True, program=6),
    HardSpec(rare_share=0.1, distractor=4, side_mlp=True, program=8),
    # Two to four mechanisms among distractors.
    HardSpec(copies=3, backup=True, rare_share=0.03, distractor=4, program=5),
    HardSpec(copies=3, backup=True, locate=True, saturation=0.3, distractor=3, program=6),
    HardSpec(copies=3, backup=True, locate=True, rare_share=0.03, distractor=4, program=7),
    HardSpec(copies=3, backup=True, locate=True, saturation=0.3, rare_share=0.03, distractor=4, program=8),
    HardSpec(copies=3, locate=True, saturation=0.5, rare_share=0.01, distractor=4, side_mlp=True, program=10),
    HardSpec(copies=3, backup=True, locate=True, saturation=0.3, distractor=3, program=3),
    HardSpec(locate=True, saturation=0.3, rare_share=0.03, distractor=2, side_mlp=True, program=6),
    HardSpec(backup=True, rare_share=0.03, distractor=2, program=9),
    HardSpec(backup=True, rare_share=0.01, distractor=2, program=11),
    HardSpec(backup=True, locate=True, rare_share=0.03, distractor=4, program=12),
    HardSpec(copies=3, backup=True, rare_share=0.01, distractor=4, program=13),
    HardSpec(locate=True, rare_share=0.01, distractor=2, side_mlp=True, program=14),
)

TASKS: dict[str, HardSpec] = {**PROTOTYPES, **{task_name(spec): spec for spec in _NAMED_BY_KNOBS}}


# The tasks the quick bench (the README's first command) shows: small ones, each a mechanism
# among distractors, as most of the family is (a task without distractors scores ~1.00 there).
QUICK_TASKS = ("hard-backup-rare3-side2-p9", "hard-locate-sat0.3-side3-mside-p5")


def task_spec(name: str) -> HardSpec:
    """The knobs of a named hard task; raises BenchmarkError pointing at the list of them."""
    if name not in TASKS:
        raise BenchmarkError(f"no hard task {name!r}: `./main.py release list` and circuits_benchmark/hard/catalogue.py name them")
    return TASKS[name]
