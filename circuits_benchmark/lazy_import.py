"""Registries name their built-in functions "module:function" and import them on first use, so that
listing them (for `--help`) loads no torch. This is the one place such a name is resolved."""

from __future__ import annotations

import importlib
from typing import Any


def resolve(target: Any, package: str = "") -> Any:
    """`target` itself when it is already a callable, else the function "module:function" names
    (module relative to `package` when one is given)."""
    if callable(target):
        return target
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(f"{package}.{module}" if package else module), name)
