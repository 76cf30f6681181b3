"""The mechanism prototypes (`catalogue.PROTOTYPES`): one small released hard task per
mechanism, loaded straight from the release (`circuits_benchmark/releases/hard/`) for the
mechanism tests (`tests/test_hard.py`), with the held-out inputs of the seed the release records.
"""

from __future__ import annotations

import torch

from circuits_benchmark.errors import BenchmarkError
from circuits_benchmark.hard import catalogue, edits, task
from circuits_benchmark.hard.catalogue import trained_spec
from circuits_benchmark.hard.program import HardSpec
from circuits_benchmark.hard.siit_task import HARD_RELEASE_DIR
from circuits_benchmark.models.transformer import CircuitTransformer
from circuits_benchmark.storage.files import load_tensors
from circuits_benchmark.training.artifacts import MODEL_FILE, release_case_dir
from circuits_benchmark.training.release import read_manifest

PROTOTYPES = catalogue.PROTOTYPES


def prototype_spec(name: str) -> HardSpec:
    """The knobs of a shipped prototype; raises BenchmarkError naming the known ones."""
    if name not in PROTOTYPES:
        raise BenchmarkError(f"no hard prototype {name!r}: use {', '.join(PROTOTYPES)}")
    return PROTOTYPES[name]


def shipped() -> list[str]:
    """The prototypes the release holds."""
    released = read_manifest(HARD_RELEASE_DIR)["models"]
    return [name for name in PROTOTYPES if name in released]


def load_trained(name: str) -> CircuitTransformer:
    """A prototype's released network (no edit), frozen."""
    model = CircuitTransformer(task.ll_config(trained_spec(prototype_spec(name))))
    model.load_state_dict(load_tensors(release_case_dir(name, HARD_RELEASE_DIR) / MODEL_FILE))
    model.eval()
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    return model


def load_prototype(name: str) -> tuple[HardSpec, CircuitTransformer]:
    """A released prototype with its saturation applied, frozen."""
    spec = prototype_spec(name)
    return spec, edits.apply_edits(load_trained(name), spec)


def held_out_inputs(name: str) -> torch.Tensor:
    """The held-out inputs of the prototype's training run (none of them trained on): its
    release's seed decides the split."""
    seed = read_manifest(HARD_RELEASE_DIR)["models"][name]["seed"]
    return task.training_split(trained_spec(prototype_spec(name)), seed).test
