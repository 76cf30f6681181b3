"""Where evaluation reports are written and how: one folder per analysis and model under
`<output_dir>/eval/`, a result.json and its picture in it."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from circuits_benchmark.models.model_id import ModelId
from circuits_benchmark.storage.files import atomic_write_json

DEFAULT_EXAMPLES = 500


def eval_dir(output_dir: Path, kind: str, model_id: str) -> Path:
    """`<output_dir>/eval/<kind>/case-NNN/<model>/` for a model id such as `siit:3:<run>` or `tracr:3`."""
    return output_dir / "eval" / kind / Path(*ModelId.parse(model_id).folders())


def write_report(report: dict[str, Any], target: Path, draw: Callable[[], None] | None = None) -> dict[str, Any]:
    """Writes a report's result.json (and its picture) to `target`; returns it with `result_dir`."""
    atomic_write_json(target / "result.json", report)
    if draw is not None:
        draw()
    return {**report, "result_dir": str(target)}
