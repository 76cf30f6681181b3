"""Atomic file writes and safe reads: the only way this project puts bytes on disk.

Every write goes to a temporary file in the target's folder and is renamed over the target,
so readers see either the old complete file or the new complete file, never a mix.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Mapping

from circuits_benchmark.errors import BenchmarkError


# Read once: os.umask can only be read by setting it.
_UMASK = os.umask(0)
os.umask(_UMASK)


class StorageError(BenchmarkError, OSError):
    """A file could not be written or read back; the message names the path."""


def ensure_writable_dir(path: Path) -> Path:
    """Creates `path` if needed; raises StorageError if it cannot be written to."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise StorageError(f"cannot create directory {path}: {error.strerror or error}") from None
    if not os.access(path, os.W_OK):
        raise StorageError(f"directory {path} is not writable")
    return path


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Writes `data` to `path` atomically (temp file + rename)."""
    ensure_writable_dir(path.parent)
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp creates 0600; results are meant to be shared
        os.replace(tmp, path)
    except OSError as error:
        raise StorageError(f"cannot write {path}: {error.strerror or error}") from None


def atomic_write_json(path: Path, data: Any) -> None:
    """Writes `data` as indented JSON, atomically."""
    atomic_write_bytes(path, (json.dumps(data, indent=1, sort_keys=False) + "\n").encode())


def read_json(path: Path) -> Any:
    """Reads JSON; raises StorageError for a missing, unreadable or corrupt file."""
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise StorageError(f"cannot read {path}: {error}") from None


def sha256_of(path: Path) -> str:
    """The sha256 of a file's bytes, as hex; raises StorageError when it cannot be read."""
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError as error:
        raise StorageError(f"cannot read {path}: {error.strerror or error}") from None


def check_sha256(directory: Path, recorded: Mapping[str, str], source: str) -> None:
    """Raises StorageError naming the first file of `directory` whose sha256 is not the one
    `recorded` (file name -> hex digest) in `source`: a damaged or edited file."""
    for name, digest in recorded.items():
        if sha256_of(directory / name) != digest:
            raise StorageError(f"{directory / name} does not match the sha256 recorded in {source}: the file is damaged or was changed")


def atomic_save_tensors(path: Path, tensors: Mapping[str, Any]) -> None:
    """Saves torch tensors as safetensors, atomically."""
    from safetensors.torch import save

    atomic_write_bytes(path, save({name: t.detach().contiguous() for name, t in tensors.items()}))


def load_tensors(path: Path) -> dict[str, Any]:
    """Loads a safetensors file as torch tensors; raises StorageError if it is missing or corrupt."""
    from safetensors.torch import load

    try:
        return load(path.read_bytes())
    except Exception as error:  # safetensors raises its own error types for corrupt headers
        raise StorageError(f"cannot read {path}: {error}") from None
