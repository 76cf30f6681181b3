"""Where results (and the compile cache, trained models) live by default: one answer everywhere.

The environment variable CIRCUITS_BENCHMARK_RESULTS when set; else, in a checkout of the project
(the package beside its pyproject.toml), the checkout's `results/`, whatever the caller's working
directory; else (an installed package) `results/` in the working directory.
"""

from __future__ import annotations

import os
from pathlib import Path

RESULTS_VARIABLE = "CIRCUITS_BENCHMARK_RESULTS"
_CHECKOUT = Path(__file__).resolve().parents[1]


def default_results_dir() -> Path:
    """The default output folder (see the module docstring)."""
    if os.environ.get(RESULTS_VARIABLE):
        return Path(os.environ[RESULTS_VARIABLE])
    if (_CHECKOUT / "pyproject.toml").is_file():
        return _CHECKOUT / "results"
    return Path("results")


DEFAULT_RESULTS_DIR = default_results_dir()
