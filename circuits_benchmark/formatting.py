"""How numbers are written in tables, pages and terminal lines, the same everywhere."""

from __future__ import annotations


def format_number(value: float | None, digits: int = 2) -> str:
    """A number with `digits` decimals; `n/a` where it is undefined (None)."""
    return "n/a" if value is None else f"{value:.{digits}f}"


def format_p_value(p_value: float) -> str:
    """A p-value: small ones in scientific notation."""
    return f"p={p_value:.2f}" if p_value >= 0.01 else f"p={p_value:.0e}"
