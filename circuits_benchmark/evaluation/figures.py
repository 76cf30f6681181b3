"""matplotlib figures written as PNG: the one place that picks the backend and saves."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from circuits_benchmark.storage.files import atomic_write_bytes


def pyplot() -> Any:
    """matplotlib.pyplot on the file-only Agg backend, imported on first use (it costs over a second)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_png(figure: Any, path: Path, dpi: int = 120) -> Path:
    """Writes the figure, laid out tightly, to `path` as PNG, atomically; the figure is closed."""
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi)
    pyplot().close(figure)
    atomic_write_bytes(path, buffer.getvalue())
    return path
