"""Provenance: the versions every stored result and trained model records."""

from __future__ import annotations

import functools
import platform
from importlib import metadata


@functools.cache  # reading package metadata takes milliseconds, and every run records it
def _versions() -> tuple[tuple[str, str], ...]:
    versions = {"python": platform.python_version()}
    for package in ("circuits-benchmark", "torch", "numpy", "tracr-pypi"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "not installed"
    return tuple(versions.items())


def library_versions() -> dict[str, str]:
    """Versions of Python and of the libraries results depend on (read once per process)."""
    return dict(_versions())
