"""Worker processes for many independent jobs (bench runs, SIIT cases), one way for every caller."""

from __future__ import annotations

import multiprocessing
from typing import Any, Callable, Iterable, Iterator


def map_in_workers(function: Callable[[Any], Any], items: Iterable[Any], jobs: int) -> Iterator[Any]:
    """Yields `function(item)` for every item as each finishes, computed in `jobs` fresh worker
    processes (spawned: no forked torch state). `function` must be importable at module level.
    When the caller stops early (Ctrl-C included) the workers are stopped at once."""
    pool = multiprocessing.get_context("spawn").Pool(jobs)
    try:
        yield from pool.imap_unordered(function, items)
        pool.close()
    finally:
        pool.terminate()
