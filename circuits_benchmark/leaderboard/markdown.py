"""The leaderboard as Markdown: per section a ranking, pairwise statistics and a per-model table."""

from __future__ import annotations

from circuits_benchmark.formatting import format_number
from circuits_benchmark.leaderboard.explanations import EXPLANATION, METRIC_TITLES, comparison_text
from circuits_benchmark.leaderboard.summary import COMPARED_METRICS, Leaderboard, MethodSummary, Section, equal_budget_table
from circuits_benchmark.models.model_id import ModelId


def render_markdown(board: Leaderboard) -> str:
    """The leaderboard as Markdown: per section a ranking, pairwise statistics and a per-model table."""
    lines = ["# Circuit-discovery leaderboard", "", _provenance(board), "", EXPLANATION, ""]
    if not board.sections:
        lines += ["No finished results yet: run `./main.py bench`.", ""]
    for section in board.sections:
        lines += [f"## {section.title}", "", *ranking_markdown(section), ""]
        for metric in COMPARED_METRICS:
            lines += [f"### {METRIC_TITLES[metric]}: row against column, paired win rate (Holm-corrected p)", "", *_comparison_markdown(section, metric), ""]
        lines += ["### AUROC at equal cost", "", *budget_markdown(section), ""]
        lines += ["### Per model: edge AUROC / node AUROC (± spread over seeds)", "", *_per_model_markdown(section), ""]
    return "\n".join(lines)


RANKING_HEADER = (
    "| rank | method | models | edge AUROC mean [95% CI] | edge AUROC median | component edge AUROC mean [95% CI] | node AUROC mean [95% CI] "
    "| node AUROC median | CPR | CMD | median s / model | median passes / model |"
)


def ranking_markdown(section: Section) -> list[str]:
    """The ranking table of one section, one row per ranked method, then the unranked ones
    (also printed by the CLI)."""
    rows = [RANKING_HEADER, "|" + "---|" * RANKING_HEADER.count(" | ") + "---|"]
    rows += [_ranking_row(s) for s in section.ranked]
    lines = [*rows, "", f"Ranked over the {len(section.common_models)} models every built-in method ran on: {section.common_names}."]
    if section.unranked:
        lines += ["", "Not ranked (ran on fewer models than those):", "", RANKING_HEADER, rows[1]]
        lines += [_ranking_row(s) for s in section.unranked]
    described = [s for s in section.summaries if s.description]
    if described:
        lines += ["", "Submissions: " + "; ".join(f"**{s.label}**: {s.description}" for s in described)]
    return lines


def _ranking_row(s: MethodSummary) -> str:
    cost = "n/a" if s.cost_median_s is None else f"{s.cost_median_s:.2f}"
    cells = [
        "-" if s.rank is None else str(s.rank), s.display_label, str(s.models),
        _with_interval(s.edge_auroc_mean, s.edge_auroc_interval), format_number(s.edge_auroc_median),
        _with_interval(s.component_edge_auroc_mean, s.component_edge_auroc_interval),
        _with_interval(s.node_auroc_mean, s.node_auroc_interval), format_number(s.node_auroc_median),
        format_number(s.cpr_mean), format_number(s.cmd_mean), cost, _passes(s.cost_median_fpe),
    ]
    return "| " + " | ".join(cells) + " |"


def _passes(value: float | None) -> str:
    return "n/a" if value is None else f"{value:,.0f}"


def budget_rows(section: Section) -> list[tuple[str, str]]:
    """Methods at equal budget, as (budget, methods) text: per budget (forward-pass equivalents per
    model), the ranked methods whose median cost fits in it, best first (both pages show these)."""
    return [
        (f"{budget:,.0f}", ", ".join(f"{s.label} {format_number(s.edge_auroc_mean)}" for s in fitting) or "none")
        for budget, fitting in equal_budget_table(section.ranked)
    ]


def budget_markdown(section: Section) -> list[str]:
    """The equal-budget table of one section (`budget_rows`)."""
    rows = ["| budget (passes / model) | methods within it, best mean edge AUROC first |", "|---|---|"]
    return rows + [f"| {budget} | {methods} |" for budget, methods in budget_rows(section)]


def _with_interval(mean: float | None, interval: tuple[float, float] | None) -> str:
    if mean is None or interval is None:
        return format_number(mean)
    return f"{format_number(mean)} [{format_number(interval[0])}, {format_number(interval[1])}]"


def _comparison_markdown(section: Section, metric: str) -> list[str]:
    labels = section.labels
    rows = ["| | " + " | ".join(labels) + " |", "|---|" + "---|" * len(labels)]
    for first in labels:
        cells = []
        for second in labels:
            comparison = section.comparisons[metric].get((first, second))
            cells.append("" if comparison is None else comparison_text(comparison))
        rows.append(f"| {first} | " + " | ".join(cells) + " |")
    return rows


def _per_model_markdown(section: Section) -> list[str]:
    labels = section.labels
    cells: dict[str, dict[str, str]] = {}
    sizes: dict[str, str] = {}
    for s in section.series:
        name = ModelId.parse(s.model_id).display_name()
        spread = "" if s.edge_auroc_spread is None else f" ±{s.edge_auroc_spread:.2f}"
        cells.setdefault(name, {})[s.label] = f"{format_number(s.edge_auroc)}{spread} / {format_number(s.node_auroc)}"
        if s.positives is not None:
            sizes[name] = f"{s.positives}/{s.candidates}"
    rows = ["| model | true / candidate edges | " + " | ".join(labels) + " |", "|---|---|" + "---|" * len(labels)]
    for model, by_label in cells.items():
        rows.append(f"| {model} | {sizes.get(model, '')} | " + " | ".join(by_label.get(label, "") for label in labels) + " |")
    return rows


def _provenance(board: Leaderboard) -> str:
    results = sum(len(section.series) for section in board.sections)
    text = f"From `{board.database}`: {board.runs} runs, {results} results (method x model)."
    if board.scope:
        text += f" Bench: {board.scope}."
    if board.incomplete:
        text += f" {board.incomplete} unfinished sweeps left out (rerun `./main.py bench` to complete them)."
    return text
