"""The leaderboard as Markdown: per section a ranking, pairwise statistics and a per-model table."""

from __future__ import annotations

from circuits_benchmark.formatting import format_number, format_p_value
from circuits_benchmark.leaderboard.explanations import EXPLANATION, METRIC_TITLES
from circuits_benchmark.leaderboard.summary import COMPARED_METRICS, Leaderboard, Section
from circuits_benchmark.models.model_id import ModelId


def render_markdown(board: Leaderboard) -> str:
    """The leaderboard as Markdown: per section a ranking, pairwise statistics and a per-case table."""
    lines = ["# Circuit-discovery leaderboard", "", _provenance(board), "", EXPLANATION, ""]
    if not board.sections:
        lines += ["No finished results yet: run `./main.py bench`.", ""]
    for section in board.sections:
        lines += [f"## {section.title}", "", *ranking_markdown(section), ""]
        for metric in COMPARED_METRICS:
            lines += [f"### {METRIC_TITLES[metric]}: row against column, A12 (p)", "", *_comparison_markdown(section, metric), ""]
        lines += ["### Per model: edge AUROC / node AUROC", "", *_per_model_markdown(section), ""]
    return "\n".join(lines)


def ranking_markdown(section: Section) -> list[str]:
    """The ranking table of one section, one row per method (also printed by the CLI)."""
    header = "| rank | method | cases | edge AUROC mean | edge AUROC median | node AUROC mean | node AUROC median | CPR | CMD | run time s |"
    rows = [header, "|" + "---|" * header.count(" | ") + "---|"]
    for rank, s in enumerate(section.summaries, 1):
        cells = [
            str(rank), s.label, str(s.cases), format_number(s.edge_auroc_mean), format_number(s.edge_auroc_median),
            format_number(s.node_auroc_mean), format_number(s.node_auroc_median), format_number(s.cpr_mean), format_number(s.cmd_mean), f"{s.wall_time_s:.1f}",
        ]
        rows.append("| " + " | ".join(cells) + " |")
    return rows


def _comparison_markdown(section: Section, metric: str) -> list[str]:
    labels = section.labels
    rows = ["| | " + " | ".join(labels) + " |", "|---|" + "---|" * len(labels)]
    for first in labels:
        cells = []
        for second in labels:
            comparison = section.comparisons[metric].get((first, second))
            cells.append("" if comparison is None else f"{comparison.a12:.2f} ({format_p_value(comparison.p_value)})")
        rows.append(f"| {first} | " + " | ".join(cells) + " |")
    return rows


def _per_model_markdown(section: Section) -> list[str]:
    labels = section.labels
    cells: dict[str, dict[str, str]] = {}
    for s in section.series:
        cells.setdefault(ModelId.parse(s.model_id).display_name(), {})[s.label] = f"{format_number(s.edge_auroc)} / {format_number(s.node_auroc)}"
    rows = ["| model | " + " | ".join(labels) + " |", "|---|" + "---|" * len(labels)]
    for model, by_label in cells.items():
        rows.append(f"| {model} | " + " | ".join(by_label.get(label, "") for label in labels) + " |")
    return rows


def _provenance(board: Leaderboard) -> str:
    results = sum(len(section.series) for section in board.sections)
    text = f"From `{board.database}`: {board.runs} runs, {results} results (method x model)."
    if board.incomplete:
        text += f" {board.incomplete} unfinished sweeps left out (rerun `./main.py bench` to complete them)."
    return text
