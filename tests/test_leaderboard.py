"""The leaderboard: statistics, sweep series, external submissions scored like built-in runs, and
the HTML page in a real headless Chromium showing the database's results."""

from __future__ import annotations

import dataclasses
import itertools
import json
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest

from circuits_benchmark.bench import BenchRequest
from circuits_benchmark.errors import BenchmarkError
from circuits_benchmark.evaluation.roc import auroc
from circuits_benchmark.evaluation.statistics import a12_magnitude, mann_whitney_u, vargha_delaney_a12
from circuits_benchmark.leaderboard.pages import write_leaderboard
from circuits_benchmark.leaderboard.submission import submit
from circuits_benchmark.leaderboard.summary import COMPARED_METRICS, SeriesResult, build_leaderboard, combine_seeds, series_results
from circuits_benchmark.runs import RunResult
from circuits_benchmark.storage.results_db import ResultsStore, RunRecord

FAST = BenchRequest(case_ids=[3], kinds=["tracr"], labels=["acdc", "eap", "random"], n_examples=40)


@pytest.fixture(scope="module")
def benched(bench_with_leaderboard) -> Path:
    return bench_with_leaderboard(FAST, "leaderboard")


# --- statistics -------------------------------------------------------------------------------


def test_exact_mann_whitney_p_matches_enumerating_every_split() -> None:
    first, second = [0.1, 0.4, 0.35, 0.9], [0.5, 0.6, 0.95, 0.7, 0.8]
    test = mann_whitney_u(first, second)
    pooled = first + second
    observed = abs(test.u - len(first) * len(second) / 2)
    splits = list(itertools.combinations(range(len(pooled)), len(first)))
    extreme = 0
    for chosen in splits:
        a = [pooled[i] for i in chosen]
        b = [pooled[i] for i in range(len(pooled)) if i not in chosen]
        extreme += abs(mann_whitney_u(a, b).u - len(a) * len(b) / 2) >= observed
    assert test.method == "exact" and test.u == 4.0  # 0.9 beats four of the second sample
    assert test.p_value == pytest.approx(extreme / len(splits))


def test_tied_samples_use_the_corrected_normal_approximation() -> None:
    # Reference values from scipy.stats.mannwhitneyu(..., method="asymptotic") 1.17.
    test = mann_whitney_u([1, 1, 1, 0.9, 0.8, 1, 0.5], [0.5, 0.6, 1, 1, 0.7, 0.5])
    assert test.method == "asymptotic" and test.u == 29.0
    assert test.p_value == pytest.approx(0.25683925795785656, rel=1e-12)
    assert mann_whitney_u([1.0, 1.0], [1.0, 1.0, 1.0]).p_value == 1.0


def test_a12_is_the_probability_of_winning_with_ties_counting_half() -> None:
    assert vargha_delaney_a12([1, 2, 3], [0, 0, 0]) == 1.0
    assert vargha_delaney_a12([1, 1], [1, 1]) == 0.5
    assert vargha_delaney_a12([1, 0], [0.5]) == 0.5
    assert vargha_delaney_a12([2, 2], [1, 2]) == 0.75
    assert [a12_magnitude(v) for v in (0.52, 0.4, 0.7, 0.05)] == ["negligible", "small", "medium", "large"]
    with pytest.raises(ValueError):
        vargha_delaney_a12([], [1])


# --- series -----------------------------------------------------------------------------------


def point(key: str, series: str, fpr: float, tpr: float, size: int, reference: bool = False) -> RunRecord:
    return RunRecord(
        run_key=key, series_key=series, source="bench", method="acdc", label="acdc", model_id="tracr:3",
        model_kind="tracr", case_id=3, ablation="resample", metric="l2", n_examples=40, seed=1, parameters={},
        sweep_parameter="threshold", sweep_value=0.1, sweep_size=size, reference=reference, versions={},
        wall_time_s=1.0, finished_at="", host="", result={},
        metrics={"edge_fpr": fpr, "edge_tpr": tpr, "node_fpr": None, "node_tpr": None, "cpr": 0.1 if reference else 0.9},
        roc={"edges": [(0.0, 0.0)], "nodes": []},
    )


def test_a_sweep_series_takes_its_roc_from_the_points_and_faithfulness_from_the_reference() -> None:
    complete = [point("a", "s", 0.0, 0.5, 3), point("b", "s", 0.5, 1.0, 3, reference=True), point("c", "s", 1.0, 1.0, 3)]
    unfinished = [point("d", "t", 0.0, 1.0, 3)]
    series, incomplete = series_results(complete + unfinished)
    assert incomplete == 1 and len(series) == 1
    (result,) = series
    assert result.roc_source == "sweep" and result.points == 3 and result.wall_time_s == 3.0
    assert result.edge_auroc == auroc([(0.0, 0.5), (0.5, 1.0), (1.0, 1.0)]) == 0.875
    assert result.node_auroc is None and result.cpr == 0.1


def test_the_hard_family_has_a_section_of_its_own() -> None:
    records = [
        dataclasses.replace(point(f"{model}-{label}", f"{model}-{label}", 0.0, 1.0, 1), model_id=model, model_kind="siit", case_id=None, label=label)
        for model in ("siit:3:release", "siit:hard-rare:release") for label in ("acdc", "eap")
    ]
    board = build_leaderboard(records, "test.db")
    assert [(section.model_kind, section.common_models) for section in board.sections] == [
        ("hard", ["siit:hard-rare:release"]), ("siit", ["siit:3:release"]),
    ]
    assert board.sections[0].title.startswith("Hard known-circuit models")


# --- submissions ------------------------------------------------------------------------------


def builtin_result(benched: Path) -> RunResult:
    from circuits_benchmark.discovery.settings import MethodSettings
    from circuits_benchmark.runs import RunConfig, run_discovery

    config = RunConfig("eap", "tracr:3", MethodSettings(), n_examples=40)
    return run_discovery(config, benched / "single", draw=False)


def test_a_submission_is_scored_exactly_like_the_builtin_run_it_copies(benched: Path, tmp_path: Path) -> None:
    result = builtin_result(benched)
    file = tmp_path / "scores.json"
    file.write_text(json.dumps({"method": "copied-eap", "n_examples": 40, "models": [{"model": "tracr:3", "edges": result.scores["qkv_edges"]}]}))
    (record,) = submit(file, benched)
    evaluation = result.evaluation
    assert record.metrics["edge_auroc"] == evaluation.edge_auroc and record.metrics["node_auroc"] == evaluation.node_auroc
    assert (record.metrics["cpr"], record.metrics["cmd"]) == (result.faithfulness.cpr, result.faithfulness.cmd)
    assert all(record.roc[level] == [tuple(p) for p in evaluation.rocs[level]] for level in evaluation.rocs)
    with ResultsStore(benched) as store:
        assert store.run(record.run_key).source == "submission"
    assert "copied-eap" in (benched / "leaderboard.md").read_text()


def test_component_level_scores_and_unlisted_edges(benched: Path, tmp_path: Path) -> None:
    from circuits_benchmark.models.registry import load_benchmark_model

    model = load_benchmark_model("tracr:3", benched)
    file = tmp_path / "truth.json"
    # The ground truth at component level: m0 -> a1.h0 scores all three inputs of the head, of which
    # only v is true, so the q/k/v level counts q and k as false positives; the component level does not.
    edges = [[s, d, 1.0] for s, d in model.ground_truth("resample").edges]
    file.write_text(json.dumps({"method": "oracle", "threshold": 0.5, "models": [{"model": "tracr:3", "edges": edges}]}))
    (record,) = submit(file, benched)
    metrics = record.metrics
    assert metrics["component_edge_auroc"] == 1.0 and metrics["component_edge_tpr"] == 1.0 and metrics["component_edge_fpr"] == 0.0
    assert metrics["edge_tpr"] == 1.0 and metrics["edge_fpr"] == pytest.approx(2 / 20) and metrics["edge_auroc"] < 1.0
    # At q/k/v level the same oracle scores 1.
    edges = [[s, d, 1.0] for s, d in model.ground_truth("resample", granularity="qkv").edges]
    file.write_text(json.dumps({"method": "oracle", "threshold": 0.5, "models": [{"model": "tracr:3", "edges": edges}]}))
    (record,) = submit(file, benched)
    assert record.metrics["edge_auroc"] == 1.0 and record.metrics["edge_tpr"] == 1.0 and record.metrics["edge_fpr"] == 0.0


def test_a_dry_run_scores_and_stores_nothing_and_rm_removes_a_submission(benched: Path, tmp_path: Path, cli) -> None:
    output_dir = tmp_path / "out"
    shutil.copytree(benched / "cache", output_dir / "cache")
    file = tmp_path / "mine.json"
    file.write_text(json.dumps({"method": "mine", "description": "scores by hand", "models": [{"model": "tracr:3", "edges": [["embed", "m0", 0.5]]}]}))
    dry = cli("leaderboard", "submit", str(file), "--dry-run", "-o", str(output_dir))
    assert dry.exit_code == 0 and "mine on tracr:3: edge AUROC" in dry.stdout and "nothing stored" in dry.stdout, dry.stderr
    with ResultsStore(output_dir) as store:
        assert store.runs() == []
    (record,) = submit(file, output_dir)
    assert record.parameters["description"] == "scores by hand"
    assert "**mine**: scores by hand" in (output_dir / "leaderboard.md").read_text()
    removed = cli("results", "rm", str(record.run_id), "-o", str(output_dir))
    assert removed.exit_code == 0 and f"removed run {record.run_id}" in removed.stdout, removed.stderr
    unknown = cli("results", "rm", "999", "-o", str(output_dir))
    assert unknown.exit_code == 2 and "no run '999'" in unknown.stderr
    with ResultsStore(output_dir) as store:
        assert store.runs() == []


def test_a_submission_s_reported_seconds_are_its_cost(benched: Path, tmp_path: Path) -> None:
    output_dir = tmp_path / "out"
    shutil.copytree(benched / "cache", output_dir / "cache")
    file = tmp_path / "timed.json"
    edges = [["embed", "m0", 0.5]]
    file.write_text(json.dumps({"method": "timed", "models": [{"model": "tracr:3", "edges": edges, "seconds": 2.5}]}))
    (record,) = submit(file, output_dir)
    assert record.parameters["reported_seconds"] == 2.5
    board, _ = write_leaderboard(output_dir)
    (summary,) = board.sections[0].summaries
    assert (summary.label, summary.source, summary.cost_median_s, summary.rank) == ("timed", "submission", 2.5, 1)
    assert "timed (submission)" in (output_dir / "leaderboard.md").read_text()


GOOD_EDGE = ["embed", "m0", 0.5]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ([], "expected a JSON object"),
        ({"method": "x", "models": [], "colour": 1}, "unknown key 'colour'"),
        ({"method": "has space", "models": []}, "'method' must be a name"),
        ({"method": "acdc", "models": [{"model": "tracr:3", "edges": [GOOD_EDGE]}]}, "built-in method's"),
        ({"method": "x", "ablation": "noise", "models": []}, "unknown ablation 'noise'"),
        ({"method": "x", "models": []}, "'models' must be a non-empty list"),
        ({"method": "x", "models": [{"model": "tracr:3"}]}, "models[0]: expected"),
        ({"method": "x", "models": [{"model": "tracr:3", "edges": [["embed", "m0", "high"]]}]}, "models[0].edges[0]: expected [source, destination, finite score]"),
        ({"method": "x", "models": [{"model": "tracr:3", "edges": [GOOD_EDGE]}] * 2}, "listed twice"),
        ({"method": "x", "models": [{"model": "tracr:3", "edges": [GOOD_EDGE, ["m0", "embed", 1]]}]}, "edges[1]: m0 -> embed is not an edge of tracr:3"),
        ({"method": "x", "models": [{"model": "tracr:3", "edges": [GOOD_EDGE, GOOD_EDGE]}]}, "edges[1]: embed -> m0 is listed twice"),
        ({"method": "x", "models": [{"model": "tracr:999", "edges": [GOOD_EDGE]}]}, "models[0]: unknown case id 999"),
        ({"method": "x", "models": [{"model": "tracr:3", "edges": [GOOD_EDGE], "seconds": -1}]}, "'seconds' must be a number >= 0"),
    ],
)
def test_a_bad_submission_is_one_clear_error_and_stores_nothing(content: object, message: str, benched: Path, tmp_path: Path) -> None:
    file = tmp_path / "bad.json"
    file.write_text(json.dumps(content))
    with ResultsStore(benched) as store:
        before = store.finished_keys()
    with pytest.raises(BenchmarkError) as raised:
        submit(file, benched)
    assert message in str(raised.value) and str(file) in str(raised.value) and "\n" not in str(raised.value)
    with ResultsStore(benched) as store:
        assert store.finished_keys() == before


def test_the_cli_reports_a_bad_submission_in_one_line(tmp_path: Path, cli) -> None:
    file = tmp_path / "broken.json"
    file.write_text("{not json")
    result = cli("leaderboard", "submit", str(file), "-o", str(tmp_path))
    assert result.exit_code == 2 and "Traceback" not in result.stderr
    assert [line for line in result.stderr.splitlines() if line.startswith("error:")] == [result.stderr.strip()]


# --- the page in a browser --------------------------------------------------------------------


class TableRows(HTMLParser):
    """The text of every cell of one table's body rows."""

    def __init__(self, table_id: str) -> None:
        super().__init__()
        self.table_id, self.inside, self.rows, self.cell = table_id, False, [], None
        self.body_attributes: dict = {}

    def handle_starttag(self, tag: str, attrs: list) -> None:
        attributes = dict(attrs)
        if tag == "body":
            self.body_attributes = attributes
        elif tag == "table":
            self.inside = attributes.get("id") == self.table_id
        elif self.inside and tag == "tr" and "data-model" in attributes:
            self.rows.append([])
        elif self.inside and tag == "td" and self.rows:
            self.cell = ""

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.cell += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self.inside = False
        elif tag == "td" and self.cell is not None:
            self.rows[-1].append(self.cell.strip())
            self.cell = None


def test_the_page_shows_every_result_of_the_database_sorted_in_a_real_browser(benched: Path, tmp_path: Path, chromium_dom) -> None:
    board, (_, page) = write_leaderboard(benched)
    html = page.read_text()
    assert "<link" not in html and " src=" not in html  # nothing to fetch: the page works offline
    dom = chromium_dom(page, "sort=results-tracr-resample.edge_auroc.asc", tmp_path / "profile")
    parser = TableRows("results-tracr-resample")
    parser.feed(dom)
    assert parser.body_attributes.get("data-sortable") == "ready"  # the inline script ran
    with ResultsStore(benched) as store:
        expected = combine_seeds(series_results(store.runs())[0])
    shown = sorted((row[0], row[2], row[6]) for row in parser.rows)
    assert shown == sorted((f"case {s.case_id}", s.label, f"{s.edge_auroc:.3f}") for s in expected)
    assert {row[1] for row in parser.rows} == {"3/23"}  # case 3: 3 true q/k/v edges among 23 candidates
    edge_aurocs = [float(row[6]) for row in parser.rows]
    assert edge_aurocs == sorted(edge_aurocs) and len(set(edge_aurocs)) > 1  # sorted by the page's own script
    assert dom.count("<svg") == 3 + 1 + 1  # three box plots (one per level), the cost scatter and one ROC plot for the one case
    assert 'id="budget-tracr-resample"' in dom
    assert dataclasses.asdict(board.sections[0].summaries[0])["models"] == 1
    assert parser.body_attributes.get("data-label-overlaps") == "0"


def test_crowded_plots_keep_their_labels_apart_and_their_colours_distinct(tmp_path: Path, chromium_dom) -> None:
    """Twelve methods, some with long names, and a trained model with a long run id: measured in
    the browser, no two labels of a picture overlap, and no colour is used twice."""
    from circuits_benchmark.leaderboard.html import render_html
    from circuits_benchmark.leaderboard.summary import Leaderboard, Section, comparisons, method_summaries

    labels = [f"method-{i}" for i in range(9)] + ["a-rather-long-method-name", "sp-edge", "eap-ig"]
    models = ["siit:3:b1-iit1-s0.4-lr0.003-bs64-atol0.05-seed0", "siit:4:release"]
    series = [
        SeriesResult(label, "bench", model, "siit", int(model.split(":")[1]), "resample", 1, "ranking",
                     [(0.0, 0.0), (0.0, 1.0), (1.0, 1.0)], [], 1.0, 1.0, None, None, 1.0, 42, 1.0, 3, 15)
        for label in labels for model in models
    ]
    summaries = method_summaries(series, set(models))
    section = Section("siit", "resample", series, models, summaries, {m: comparisons(series, labels, m) for m in COMPARED_METRICS})
    page = tmp_path / "crowded.html"
    page.write_text(render_html(Leaderboard("crowded.sqlite", len(series), 0, [section])))
    dom = chromium_dom(page, "", tmp_path / "profile")
    parser = TableRows("none")
    parser.feed(dom)
    assert parser.body_attributes.get("data-label-overlaps") == "0"
    colours = re.findall(r'<i style="background:([^"]+)"', dom)
    assert len(colours) == len(set(colours)) == len(labels)
