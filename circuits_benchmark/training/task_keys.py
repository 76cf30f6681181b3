"""Task keys: what names a task a SIIT run trains towards, and the folders its models go in.

A tracr case is numbered (`3`, its models under `case-003/`); every other task is named (`ioi`,
under `ioi/`). Model ids and folders hold the key as text; `task_key` reads it back.
"""

from __future__ import annotations

from pathlib import Path

CaseKey = int | str

# The project's release of SIIT models (see `training.release`): a folder per task, laid out like a run.
SIIT_RELEASE_DIR = Path(__file__).resolve().parents[1] / "releases" / "siit"


def task_key(text: str) -> CaseKey:
    """The key written as text: `3` -> 3, `ioi` -> "ioi"."""
    return int(text) if text.isdigit() else text


def task_label(case: CaseKey) -> str:
    """How reports name a task: `case 3` for a numbered case, the name itself otherwise."""
    return f"case {case}" if isinstance(case, int) else str(case)


def case_folder(case: CaseKey) -> str:
    """The folder of a task's runs and release: `case-003` for a numbered case, the name itself otherwise."""
    return f"case-{case:03d}" if isinstance(case, int) else case
