"""The public AlgZoo grid and its reference scores (best of 5 seeds, 2^30 training sequences).

Accuracy in % for the distribution tasks, RMSE for `median`, as AlgZoo published them.
`argmax` and `argoutlier` have no released models: their grids are ours and have no reference.
"""

from __future__ import annotations

import dataclasses


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


GRIDS: dict[str, Grid] = {
    "2nd_argmax": Grid((32, 16, 8, 6, 5, 4, 3, 2), (2, 3, 4, 5, 6, 8, 10), {
        32: (100, 100, 99.9, 99.7, 99.4, 99.3, 99.4),
        16: (100, 100, 99.8, 99.2, 98.5, 97.6, 94.8),
        8: (100, 99.9, 98.7, 88.2, 78.9, 46.6, 42.7),
        6: (100, 99.9, 86.5, 70.3, 48.4, 40.5, 37.5),
        5: (100, 99.9, 74.6, 54.2, 45.0, 38.4, 34.7),
        4: (100, 98.5, 60.2, 42.8, 39.4, 34.6, 31.8),
        3: (100, 90.8, 43.3, 37.5, 34.1, 28.5, 23.9),
        2: (100, 41.0, 32.8, 30.6, 26.9, 21.4, 20.2),
    }),
    "argmedian": Grid((32, 16, 8, 4, 2), (3, 5, 7, 11), {
        32: (100, 99.6, 97.8, 74.8),
        16: (100, 98.3, 71.4, 46.0),
        8: (99.9, 69.9, 49.3, 33.6),
        4: (98.5, 39.4, 27.5, 19.1),
        2: (41.0, 26.4, 16.4, 10.6),
    }),
    "median": Grid((32, 16, 8, 4, 2), (2, 3, 5, 10), {
        32: (0, 0, 0, 0),
        16: (0, 0, 0, 0.041),
        8: (0, 0, 0.039, 0.083),
        4: (0, 0.132, 0.207, 0.127),
        2: (0, 0.326, 0.285, 0.189),
    }),
    "longest_cycle": Grid((8, 6, 4, 3, 2), (3, 4, 5, 6), {
        8: (100, 100, 99.7, 85.4),
        6: (100, 100, 94.7, 84.1),
        4: (100, 100, 81.0, 72.2),
        3: (100, 90.2, 65.1, 63.1),
        2: (100, 72.3, 63.1, 52.3),
    }),
    "argmax": Grid((16, 8, 4, 2), (2, 3, 5, 10)),
    "argoutlier": Grid((16, 8, 4, 2), (3, 5, 10)),
}

# The tasks AlgZoo released models for: what `train algzoo --zoo` trains by default.
REFERENCE_TASKS = ("2nd_argmax", "argmedian", "median", "longest_cycle")
