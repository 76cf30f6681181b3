"""Worker processes for many independent jobs (bench runs, SIIT cases), one way for every caller."""

from __future__ import annotations

import multiprocessing
from typing import Any, Callable, Iterable, Iterator

from circuits_benchmark.plugins import load_environment_plugins


def map_in_workers(function: Callable[[Any], Any], items: Iterable[Any], jobs: int) -> Iterator[Any]:
    """Yields `function(item)` for every item as each finishes, computed in `jobs` fresh worker
    processes (spawned: no forked torch state). `function` must be importable at module level.
    When the caller stops early (Ctrl-C included) the workers are stopped at once."""
    # Workers load the plug-ins the parent loaded (their methods and cases must exist there too).
    pool = multiprocessing.get_context("spawn").Pool(jobs, initializer=load_environment_plugins)
    try:
        yield from pool.imap_unordered(function, items)
        pool.close()
    finally:
        pool.terminate()
