"""The results store: round trips, replacement by key, clear errors, CSV export, and two processes
writing at once."""

from __future__ import annotations

import csv
import io
import math
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from circuits_benchmark.storage.files import StorageError
from circuits_benchmark.storage.results_db import CSV_COLUMNS, DATABASE_FILE, ResultsStore, RunRecord, runs_to_csv

ROOT = Path(__file__).resolve().parents[1]


def record(key: str, edge_auroc: float | None = 0.75, series: str | None = None) -> RunRecord:
    return RunRecord(
        run_key=key, series_key=series or key, source="bench", method="acdc", label="acdc", model_id="tracr:3",
        model_kind="tracr", case_id=3, ablation="resample", metric="l2", n_examples=100, seed=42,
        parameters={"threshold": 0.1}, sweep_parameter="threshold", sweep_value=0.1, sweep_size=2, reference=False,
        versions={"torch": "2.13.0"}, wall_time_s=0.5, finished_at="2026-01-01T00:00:00+00:00", host="here",
        metrics={"edge_auroc": edge_auroc, "node_auroc": 1.0, "cpr": 0.8, "cmd": 0.2, "edge_tpr": 1.0, "edge_fpr": None},
        roc={"edges": [(0.0, 0.5), (1.0, 1.0)], "component_edges": [(0.0, 1.0)], "nodes": [(0.0, 1.0)]},
        result={"circuit": {"edges": [["embed", "a0.h0"]]}, "scores": {"edges": [["embed", "a0.h0", -math.inf]]}},
    )


def test_a_run_round_trips_with_metrics_roc_points_and_result(tmp_path: Path) -> None:
    with ResultsStore(tmp_path) as store:
        run_id = store.save_run(record("a"))
        stored = store.run(str(run_id))
        assert store.run("a").run_id == run_id
    expected = record("a")
    expected.run_id = run_id
    assert stored == expected
    assert (tmp_path / DATABASE_FILE).exists()


def test_saving_a_key_again_replaces_the_run_and_its_metrics(tmp_path: Path) -> None:
    with ResultsStore(tmp_path) as store:
        store.save_run(record("a", edge_auroc=0.5))
        store.save_run(record("b"))
        store.save_run(record("a", edge_auroc=0.9))
        runs = store.runs()
        assert [r.run_key for r in runs] == ["b", "a"]
        assert runs[1].metrics["edge_auroc"] == 0.9
        assert store.finished_keys() == {"a", "b"} and store.has_run("a") and not store.has_run("c")
    metric_rows = sqlite3.connect(tmp_path / DATABASE_FILE).execute("SELECT COUNT(*) FROM metrics").fetchone()[0]
    assert metric_rows == 2 * len(record("a").metrics)  # the replaced run's metrics went with it


def test_filters_and_missing_runs(tmp_path: Path) -> None:
    with ResultsStore(tmp_path) as store:
        store.save_run(record("a"))
        assert store.runs(method="acdc", model_id="tracr:3") and not store.runs(method="eap")
        with pytest.raises(StorageError, match="no run 'nope'"):
            store.run("nope")


def test_a_corrupt_or_newer_database_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / DATABASE_FILE).write_text("not a database " * 100)
    with pytest.raises(StorageError, match="cannot open results database"):
        ResultsStore(tmp_path)
    newer = tmp_path / "newer"
    newer.mkdir()
    sqlite3.connect(newer / DATABASE_FILE).execute("PRAGMA user_version = 99").connection.commit()
    with pytest.raises(StorageError, match="schema version 99"):
        ResultsStore(newer)


def test_csv_export_has_one_row_per_run_with_its_metrics(tmp_path: Path) -> None:
    with ResultsStore(tmp_path) as store:
        store.save_run(record("a"))
        store.save_run(record("b", edge_auroc=None))
        rows = list(csv.DictReader(io.StringIO(runs_to_csv(store.runs()))))
    assert list(rows[0]) == list(CSV_COLUMNS)
    assert [row["run_key"] for row in rows] == ["a", "b"]
    assert rows[0]["edge_auroc"] == "0.75" and rows[1]["edge_auroc"] == "" and rows[0]["edge_fpr"] == ""
    assert rows[0]["parameters"] == '{"threshold": 0.1}'


WRITER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    sys.path.insert(0, sys.argv[3])
    from test_results_db import record
    from circuits_benchmark.storage.results_db import ResultsStore
    with ResultsStore(Path(sys.argv[1])) as store:
        for i in range(60):
            # Half the keys are shared with the other writer: both write them, one version survives.
            key = f"shared-{i}" if i % 2 else f"{sys.argv[2]}-{i}"
            store.save_run(record(key, series=sys.argv[2]))
            store.runs(model_id="tracr:3")  # reads interleaved with the other process's writes
    """
)


def test_two_processes_writing_at_once_lose_nothing(tmp_path: Path) -> None:
    writers = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path), name, str(ROOT / "tests")], stderr=subprocess.PIPE, text=True)
        for name in ("first", "second")
    ]
    for writer in writers:
        assert writer.wait(timeout=120) == 0, writer.stderr.read()
    with ResultsStore(tmp_path) as store:
        runs = store.runs()
    keys = [r.run_key for r in runs]
    assert len(keys) == len(set(keys)) == 30 + 30 + 30
    assert all(len(r.metrics) == 6 and len(r.roc["edges"]) == 2 for r in runs)
