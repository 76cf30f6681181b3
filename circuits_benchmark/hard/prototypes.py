"""The small trained hard models that ship with the project, one per mechanism: what the
mechanism tests run on (`tests/test_hard.py`), and the first hard tasks.

Each is its task's released model (`circuits_benchmark/releases/hard/`): the SIIT run of its
trained program (saturation, which acts after training, set to 1), stopped by the
family's recipe. Its weights are copied to `models/<trained>.safetensors`, where the mechanism
tests load them; its held-out inputs follow from the seed its release records.
"""

from __future__ import annotations

from pathlib import Path

import torch

from circuits_benchmark.errors import BenchmarkError
from circuits_benchmark.hard import catalogue, edits, task
from circuits_benchmark.hard.catalogue import trained_spec
from circuits_benchmark.hard.program import HardSpec
from circuits_benchmark.models.transformer import CircuitTransformer
from circuits_benchmark.storage.files import load_tensors

MODELS_DIR = Path(__file__).parent / "models"
PROTOTYPES = catalogue.PROTOTYPES


def weights_name(spec: HardSpec) -> str:
    """The file stem of a trained program's weights: its knobs that change what is trained."""
    trained = trained_spec(spec)
    rare = f"-rare{trained.rare_share:g}" if trained.rare else ""
    side = (f"-s{trained.distractor}" if trained.distractor else "") + ("-ms" if trained.side_mlp else "")
    return f"c{trained.copies}-b{int(trained.backup)}-l{int(trained.locate)}{rare}{side}-p{trained.program}"


def prototype_spec(name: str) -> HardSpec:
    """The knobs of a shipped prototype; raises BenchmarkError naming the known ones."""
    if name not in PROTOTYPES:
        raise BenchmarkError(f"no hard prototype {name!r}: use {', '.join(PROTOTYPES)}")
    return PROTOTYPES[name]


def shipped() -> list[str]:
    """The prototypes whose trained weights ship."""
    return [name for name, spec in PROTOTYPES.items() if (MODELS_DIR / f"{weights_name(spec)}.safetensors").exists()]


def load_trained(spec: HardSpec) -> CircuitTransformer:
    """The shipped trained network of a spec's program (no edit), frozen."""
    trained = trained_spec(spec)
    model = CircuitTransformer(task.ll_config(trained))
    model.load_state_dict(load_tensors(MODELS_DIR / f"{weights_name(spec)}.safetensors"))
    model.eval()
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    return model


def load_prototype(name: str) -> tuple[HardSpec, CircuitTransformer]:
    """A shipped prototype with its saturation applied, frozen."""
    spec = prototype_spec(name)
    return spec, edits.apply_edits(load_trained(spec), spec)


def held_out_inputs(name: str) -> torch.Tensor:
    """The held-out inputs of the prototype's training run (none of them trained on): its
    release's seed decides the split."""
    from circuits_benchmark.hard.siit_task import HARD_RELEASE_DIR
    from circuits_benchmark.training.release import read_manifest

    seed = read_manifest(HARD_RELEASE_DIR)["models"][name]["seed"]
    return task.training_split(trained_spec(prototype_spec(name)), seed).test
