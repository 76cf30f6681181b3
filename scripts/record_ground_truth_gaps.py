"""Re-records tests/data/ground_truth_gaps.json: per case and ablation, the ground-truth edges whose
single removal changes no output. Run after a deliberate change to a program or the compiler, then
review the diff: the test suite fails when the gaps change without this file changing with them.

Usage: .venv/bin/python scripts/record_ground_truth_gaps.py
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from circuits_benchmark.cases import all_case_ids
from circuits_benchmark.compiler.verification import verify_case
from circuits_benchmark.compiler.cache import load_compiled_case

TARGET = Path(__file__).resolve().parents[1] / "tests" / "data" / "ground_truth_gaps.json"


def main() -> None:
    gaps: dict[str, dict[str, list[list[str]]]] = {}
    with tempfile.TemporaryDirectory() as cache:
        for case_id in all_case_ids():
            report = verify_case(load_compiled_case(case_id, Path(cache)))
            found = {a: [list(e) for e in c.redundant_edges] for a, c in report.ablations.items() if c.redundant_edges}
            if found:
                gaps[str(case_id)] = found
            print(case_id, report.status())
    TARGET.write_text(json.dumps(gaps, indent=1) + "\n")
    print(f"{len(gaps)} cases with gaps written to {TARGET}")


if __name__ == "__main__":
    main()
