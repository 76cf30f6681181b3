"""The case library: InterpBench's tracr cases as this project's own RASP programs.

`get_case(3)` returns a Case; `parse_case_ids("1-10,21")` parses the CLI's `-i` syntax.
Importing this package registers every case but builds no program and imports no tracr.
"""

from __future__ import annotations

import importlib
import pkgutil

from circuits_benchmark.cases.case import BOS, PAD, Case, CaseError, registered_cases
from circuits_benchmark.cases import programs as _programs

for _module in pkgutil.iter_modules(_programs.__path__):
    importlib.import_module(f"{_programs.__name__}.{_module.name}")

# The cases of the original InterpBench release (release id 8 is today's case 90).
ORIGINAL_RELEASE_IDS = (3, 4, 11, 13, 18, 19, 20, 21, 24, 26, 29, 33, 34, 35, 36, 37, 38, 90)


def all_case_ids() -> list[int]:
    """Every registered case id, ascending."""
    return sorted(registered_cases())


def get_case(case_id: int) -> Case:
    """Returns the case with this InterpBench id; raises CaseError for an unknown id."""
    try:
        return registered_cases()[case_id]
    except KeyError:
        raise CaseError(f"unknown case id {case_id} (known ids: {_id_ranges(all_case_ids())}; add cases with --plugin)") from None


def _id_ranges(ids: list[int]) -> str:
    """`1-15, 17-26, 28-131`: consecutive ids as ranges."""
    ranges: list[list[int]] = []
    for case_id in ids:
        if ranges and case_id == ranges[-1][1] + 1:
            ranges[-1][1] = case_id
        else:
            ranges.append([case_id, case_id])
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in ranges)


def suite_case_ids() -> list[int]:
    """The realistic suite: every case the spec does not flag trivial (118 of 129)."""
    return [case_id for case_id, case in sorted(registered_cases().items()) if not case.trivial]


def parse_case_ids(text: str | None) -> list[int]:
    """Parses `3`, `3,4,21`, `1-10` or a mix of them; None or "" selects every case.

    Raises CaseError naming the offending part for malformed text or unknown ids.
    """
    if not text or text.strip() == "all":
        return all_case_ids()
    if text.strip() == "suite":
        return suite_case_ids()
    ids: list[int] = []
    for part in text.split(","):
        part = part.strip()
        if part.isidentifier():
            raise CaseError(f"{part!r} is not a tracr case id: this command takes tracr cases (3, 3,4,21, 1-10, all or suite)")
        bounds = part.split("-")
        if len(bounds) > 2 or not all(b.strip().isdigit() for b in bounds):
            raise CaseError(f"malformed case selection {part!r}: use 3, 3,4,21 or 1-10")
        low, high = int(bounds[0]), int(bounds[-1])
        if low > high:
            raise CaseError(f"empty case range {part!r}")
        span = range(low, high + 1)
        if len(bounds) == 1:
            get_case(low)
            ids.append(low)
        else:
            ids.extend(i for i in span if i in registered_cases())
    if not ids:
        raise CaseError(f"no case in selection {text!r}")
    return sorted(dict.fromkeys(ids))


__all__ = [
    "BOS",
    "PAD",
    "ORIGINAL_RELEASE_IDS",
    "suite_case_ids",
    "Case",
    "CaseError",
    "all_case_ids",
    "get_case",
    "parse_case_ids",
]
