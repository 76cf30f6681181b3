"""The public AlgZoo grid and its reference scores (best of 5 seeds, 2^30 training sequences).

Accuracy in % for the distribution tasks, RMSE for `median`, as AlgZoo published them
(`reference_grids.json`).
`argmax` and `argoutlier` have no released models: their grids are ours and have no reference.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path


@dataclasses.dataclass(frozen=True)
class Grid:
    """The hidden sizes (rows, largest first) and lengths (columns) trained for one task."""

    hidden: tuple[int, ...]
    lengths: tuple[int, ...]
    reference: dict[int, tuple[float, ...]] | None = None

    def reference_value(self, hidden: int, n: int) -> float | None:
        """The published score of a cell (accuracy in %, or RMSE), or None where there is none."""
        if self.reference is None or hidden not in self.reference or n not in self.lengths:
            return None
        return self.reference[hidden][self.lengths.index(n)]


def _read_grids() -> dict[str, Grid]:
    """The grids as `reference_grids.json` holds them (the published numbers are data, kept as such)."""
    data = json.loads((Path(__file__).with_name("reference_grids.json")).read_text())
    return {
        task: Grid(
            tuple(entry["hidden"]),
            tuple(entry["lengths"]),
            {int(h): tuple(values) for h, values in entry["reference"].items()} if "reference" in entry else None,
        )
        for task, entry in data.items()
    }


GRIDS: dict[str, Grid] = _read_grids()

# The tasks AlgZoo released models for: what `train algzoo --zoo` trains by default.
REFERENCE_TASKS = ("2nd_argmax", "argmedian", "median", "longest_cycle")
