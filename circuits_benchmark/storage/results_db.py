"""The results store: one SQLite database, `<output_dir>/results.sqlite`, the one place results live.

Tables:
  runs        one row per finished run: its key, method, case, model, parameters, seed, versions,
              timing, its place in a threshold sweep, and the full result (circuit, scores,
              confusions, faithfulness curve) as JSON
  metrics     (run, name) -> value: edge_auroc (q/k/v edges), component_edge_auroc, node_auroc,
              cpr, cmd and, for the circuit at the run's threshold, TPR and FPR at each level
  roc_points  (run, curve, position) -> (fpr, tpr): the run's ROC from its score ranking

A run is identified by its `run_key` (built from its RunConfig by the caller); saving a key again
replaces that run. `series_key` groups the points of one threshold sweep: it is the key of the
sweep's reference run (the method's default setting), so a single run is a series of one.

Several processes may write at once (two `bench` commands, a submission during a bench): the
database is in WAL mode, every connection waits up to BUSY_TIMEOUT_S for a lock, and each run is
written in one IMMEDIATE transaction, so a reader sees a run completely or not at all and a
killed writer loses only the run it was writing.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import io
import json
import sqlite3
from pathlib import Path
from typing import Any, Iterator

from circuits_benchmark.choices import RunSource
from circuits_benchmark.storage.files import StorageError, ensure_writable_dir

DATABASE_FILE = "results.sqlite"
SCHEMA_VERSION = 2  # 2: edge_auroc is over q/k/v edges (issue 26); a store of 1 holds the old scoring
BUSY_TIMEOUT_S = 120.0
# Metric names a run may carry; any other name is a caller's bug.
METRIC_NAMES = (
    "edge_auroc", "component_edge_auroc", "node_auroc", "cpr", "cmd", "edge_tpr", "edge_fpr",
    "component_edge_tpr", "component_edge_fpr", "node_tpr", "node_fpr", "cost_fpe",
)
ROC_CURVES = ("edges", "component_edges", "nodes")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY,
    run_key TEXT NOT NULL UNIQUE,
    series_key TEXT NOT NULL,
    source TEXT NOT NULL,
    method TEXT NOT NULL,
    label TEXT NOT NULL,
    model_id TEXT NOT NULL,
    model_kind TEXT NOT NULL,
    case_id INTEGER,
    ablation TEXT NOT NULL,
    metric TEXT NOT NULL,
    n_examples INTEGER NOT NULL,
    seed INTEGER NOT NULL,
    parameters TEXT NOT NULL,
    sweep_parameter TEXT,
    sweep_value REAL,
    sweep_size INTEGER NOT NULL,
    reference INTEGER NOT NULL,
    versions TEXT NOT NULL,
    wall_time_s REAL NOT NULL,
    finished_at TEXT NOT NULL,
    host TEXT NOT NULL,
    result TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS runs_series ON runs (series_key);
CREATE TABLE IF NOT EXISTS metrics (
    run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    value REAL,
    PRIMARY KEY (run_id, name)
);
CREATE TABLE IF NOT EXISTS bench_scope (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    scope TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS roc_points (
    run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    curve TEXT NOT NULL,
    position INTEGER NOT NULL,
    fpr REAL NOT NULL,
    tpr REAL NOT NULL,
    PRIMARY KEY (run_id, curve, position)
);
"""

_RUN_COLUMNS = (
    "run_key", "series_key", "source", "method", "label", "model_id", "model_kind", "case_id", "ablation", "metric",
    "n_examples", "seed", "parameters", "sweep_parameter", "sweep_value", "sweep_size", "reference", "versions",
    "wall_time_s", "finished_at", "host", "result",
)
_JSON_COLUMNS = ("parameters", "versions", "result")


@dataclasses.dataclass
class RunRecord:
    """One run as stored.

    Attributes:
        run_key: unique identity of the run (rerunning the same configuration gives the same key).
        series_key: the run key of its sweep's reference run (its own key when not in a sweep).
        source: "bench" for the project's methods, "submission" for external scores.
        method: the registry name (or the submitted method's name); label: the name shown in
            tables (e.g. "sp-edge" for edgewise subnetwork probing).
        model_id, model_kind, case_id: the model (`tracr:3`), its kind and case (None if no case).
        ablation, metric, n_examples, seed: the run's data and comparison.
        parameters: the method settings that change its result.
        sweep_parameter, sweep_value, sweep_size: which setting the sweep varies, this run's value
            and how many points the whole sweep has (None, None, 1 outside sweeps).
        reference: True for the run at the method's default setting (its CPR/CMD head the series).
        versions: package versions; wall_time_s, finished_at (ISO UTC), host: timing and place.
        metrics: name (one of METRIC_NAMES) -> value (None where undefined).
        roc: curve (ROC_CURVES: "edges", "component_edges", "nodes") -> (fpr, tpr) points of the run's own score ranking.
        result: the rest of the result (circuit, scores, confusions, faithfulness curve, config).
        run_id: the database id, once stored.
    """

    run_key: str
    series_key: str
    source: RunSource
    method: str
    label: str
    model_id: str
    model_kind: str
    case_id: int | None
    ablation: str
    metric: str
    n_examples: int
    seed: int
    parameters: dict[str, Any]
    sweep_parameter: str | None
    sweep_value: float | None
    sweep_size: int
    reference: bool
    versions: dict[str, str]
    wall_time_s: float
    finished_at: str
    host: str
    metrics: dict[str, float | None]
    roc: dict[str, list[tuple[float, float]]]
    result: dict[str, Any]
    run_id: int | None = None


class ResultsStore:
    """The results database of an output folder. Use as a context manager, or call close()."""

    def __init__(self, output_dir: Path) -> None:
        """Opens (creating if needed) `<output_dir>/results.sqlite`; raises StorageError if it cannot."""
        self.path = ensure_writable_dir(output_dir) / DATABASE_FILE
        try:
            # isolation_level=None: transactions are begun explicitly, IMMEDIATE for writes, so two
            # writers queue on the busy timeout instead of deadlocking on a read-to-write upgrade.
            self._db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        except sqlite3.Error as error:
            raise StorageError(f"cannot open results database {self.path}: {error}") from None
        try:
            self._configure()
        except BaseException:
            self._db.close()
            raise

    def _configure(self) -> None:
        try:
            self._db.row_factory = sqlite3.Row
            self._db.execute("PRAGMA journal_mode = WAL")
            self._db.execute("PRAGMA synchronous = NORMAL")
            self._db.execute("PRAGMA foreign_keys = ON")
            self._ensure_schema()
        except sqlite3.Error as error:
            raise StorageError(f"cannot open results database {self.path}: {error}") from None

    def __enter__(self) -> "ResultsStore":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Closes the connection; committed runs are on disk."""
        self._db.close()

    def _ensure_schema(self) -> None:
        with self._write():
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            if version not in (0, SCHEMA_VERSION):
                raise StorageError(
                    f"results database {self.path} has schema version {version}, this code reads {SCHEMA_VERSION}: "
                    "move the file away to start a new one"
                )
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    self._db.execute(statement)
            self._db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    @contextlib.contextmanager
    def _write(self) -> Iterator[None]:
        """One IMMEDIATE transaction: all of it is committed, or none of it on any error."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:  # KeyboardInterrupt too: a half-written run must never be committed
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def save_run(self, record: RunRecord) -> int:
        """Stores a run with its metrics and ROC points in one transaction, replacing any run with
        the same key; returns its id."""
        unknown = set(record.metrics) - set(METRIC_NAMES)
        if unknown:
            raise ValueError(f"unknown metric names {sorted(unknown)}")
        values = [_to_column(name, getattr(record, name)) for name in _RUN_COLUMNS]
        try:
            with self._write():
                self._db.execute("DELETE FROM runs WHERE run_key = ?", (record.run_key,))
                cursor = self._db.execute(
                    f"INSERT INTO runs ({', '.join(_RUN_COLUMNS)}) VALUES ({', '.join('?' * len(_RUN_COLUMNS))})", values
                )
                run_id = int(cursor.lastrowid)
                self._db.executemany(
                    "INSERT INTO metrics (run_id, name, value) VALUES (?, ?, ?)",
                    [(run_id, name, value) for name, value in record.metrics.items()],
                )
                self._db.executemany(
                    "INSERT INTO roc_points (run_id, curve, position, fpr, tpr) VALUES (?, ?, ?, ?, ?)",
                    [(run_id, curve, i, f, t) for curve, points in record.roc.items() for i, (f, t) in enumerate(points)],
                )
        except sqlite3.Error as error:
            raise StorageError(f"cannot write run {record.run_key} to {self.path}: {error}") from None
        record.run_id = run_id
        return run_id

    def delete_runs(self, references: list[str]) -> list[RunRecord]:
        """Deletes the runs with these ids or keys (with their metrics and ROC points) in one
        transaction; returns them. Raises StorageError naming the first that is not stored, and
        then deletes nothing."""
        records = [self.run(reference) for reference in references]
        try:
            with self._write():
                self._db.executemany("DELETE FROM runs WHERE id = ?", [(record.run_id,) for record in records])
        except sqlite3.Error as error:
            raise StorageError(f"cannot delete runs from {self.path}: {error}") from None
        return records

    def save_scope(self, scope: str) -> None:
        """Records what the last bench into this store covered (the leaderboard states it)."""
        try:
            with self._write():
                self._db.execute("INSERT OR REPLACE INTO bench_scope (id, scope) VALUES (1, ?)", (scope,))
        except sqlite3.Error as error:
            raise StorageError(f"cannot write the bench scope to {self.path}: {error}") from None

    def scope(self) -> str | None:
        """What the last bench into this store covered (`save_scope`); None before any bench."""
        rows = self._query("SELECT scope FROM bench_scope", ())
        return rows[0][0] if rows else None

    def finished_keys(self) -> set[str]:
        """The keys of every stored run."""
        return {row[0] for row in self._query("SELECT run_key FROM runs", ())}

    def has_run(self, run_key: str) -> bool:
        """Whether a run with this key is stored (another process may have finished it meanwhile)."""
        return bool(self._query("SELECT 1 FROM runs WHERE run_key = ?", (run_key,)))

    def runs(self, method: str | None = None, model_id: str | None = None) -> list[RunRecord]:
        """Every stored run (optionally of one method label and/or model), in insertion order."""
        conditions, arguments = [], []
        for column, value in (("label", method), ("model_id", model_id)):
            if value is not None:
                conditions.append(f"{column} = ?")
                arguments.append(value)
        where = f"WHERE {' AND '.join(conditions)}" if conditions else ""
        return self._records(f"SELECT * FROM runs {where} ORDER BY id", tuple(arguments))

    def run(self, reference: str) -> RunRecord:
        """The run with this id or key; raises StorageError naming it when there is none."""
        column = "id" if reference.isdigit() else "run_key"
        found = self._records(f"SELECT * FROM runs WHERE {column} = ?", (reference,))
        if not found:
            raise StorageError(f"no run {reference!r} in {self.path}: `./main.py results ls` lists them")
        return found[0]

    def _records(self, sql: str, arguments: tuple) -> list[RunRecord]:
        rows = self._query(sql, arguments)
        if not rows:
            return []
        ids = [row["id"] for row in rows]
        metrics: dict[int, dict[str, float | None]] = {i: {} for i in ids}
        roc: dict[int, dict[str, list[tuple[float, float]]]] = {i: {c: [] for c in ROC_CURVES} for i in ids}
        # Fetched for the selected runs only, in chunks below SQLite's parameter limit.
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ", ".join("?" * len(chunk))
            for row in self._query(f"SELECT run_id, name, value FROM metrics WHERE run_id IN ({marks})", tuple(chunk)):
                metrics[row["run_id"]][row["name"]] = row["value"]
            points = self._query(
                f"SELECT run_id, curve, fpr, tpr FROM roc_points WHERE run_id IN ({marks}) ORDER BY run_id, curve, position",
                tuple(chunk),
            )
            for row in points:
                roc[row["run_id"]][row["curve"]].append((row["fpr"], row["tpr"]))
        return [_record(row, metrics[row["id"]], roc[row["id"]]) for row in rows]

    def _query(self, sql: str, arguments: tuple) -> list[sqlite3.Row]:
        try:
            return self._db.execute(sql, arguments).fetchall()
        except sqlite3.Error as error:
            raise StorageError(f"cannot read {self.path}: {error}") from None


# The columns of `export --csv`: the run's identity and settings, then every metric.
CSV_COLUMNS = (
    "run_id", "run_key", "series_key", "source", "method", "label", "model_id", "model_kind", "case_id", "ablation",
    "metric", "n_examples", "seed", "parameters", "sweep_parameter", "sweep_value", "sweep_size", "reference",
    "wall_time_s", "finished_at", "host", *METRIC_NAMES,
)


def runs_to_csv(records: list[RunRecord]) -> str:
    """One CSV row per run: CSV_COLUMNS, parameters as JSON, undefined metrics empty."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for record in records:
        row = {column: getattr(record, column) for column in CSV_COLUMNS if column not in METRIC_NAMES}
        row.update(record.metrics, parameters=json.dumps(record.parameters), reference=int(record.reference))
        writer.writerow(["" if row.get(column) is None else row[column] for column in CSV_COLUMNS])
    return buffer.getvalue()


def _to_column(name: str, value: Any) -> Any:
    if name in _JSON_COLUMNS:
        return json.dumps(value)
    if name == "reference":
        return int(value)
    return value


def _record(row: sqlite3.Row, metrics: dict[str, float | None], roc: dict[str, list[tuple[float, float]]]) -> RunRecord:
    fields = {name: json.loads(row[name]) if name in _JSON_COLUMNS else row[name] for name in _RUN_COLUMNS}
    fields["reference"] = bool(fields["reference"])
    return RunRecord(**(fields | {"source": RunSource.parse(fields["source"])}), metrics=metrics, roc=roc, run_id=row["id"])
