"""The leaderboard as one static HTML page that works offline: inline CSS, inline SVG plots, and a
little inline JavaScript that sorts tables by a click on a column header (or, on load, by the
address: `leaderboard.html#sort=<table id>.<column key>[.asc|.desc]`)."""

from __future__ import annotations

import html

import numpy as np

from circuits_benchmark.evaluation.roc import roc_envelope
from circuits_benchmark.formatting import format_number
from circuits_benchmark.leaderboard.explanations import EXPLANATION, METRIC_TITLES, comparison_text
from circuits_benchmark.leaderboard.markdown import budget_rows
from circuits_benchmark.leaderboard.summary import COMPARED_METRICS, Leaderboard, Section, SeriesResult
from circuits_benchmark.models.model_id import ModelId

PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")
# Width of one character of the 11 px labels, to size plots around their longest label.
CHAR_WIDTH = 6.5

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; max-width: 1400px; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: right; }
th { background: #f2f2f2; }
td.text, th.text { text-align: left; }
table.sortable th { cursor: pointer; user-select: none; }
th[aria-sort="ascending"]::after { content: " \\25B2"; }
th[aria-sort="descending"]::after { content: " \\25BC"; }
.plots, .roc-grid { display: flex; flex-wrap: wrap; gap: 1em; align-items: flex-start; }
.legend span { display: inline-block; margin-right: 1em; }
.legend i { display: inline-block; width: 1.5em; height: 0.4em; margin-right: 0.3em; vertical-align: middle; }
svg text { font-size: 11px; fill: #222; }
tr.unranked td { color: #888; }
"""

SCRIPT = """
function cellKey(row, column) {
  const cell = row.cells[column];
  if (cell.dataset.value === undefined) return cell.textContent.trim();
  return cell.dataset.value === "" ? NaN : parseFloat(cell.dataset.value);
}
function sortTable(table, column, descending) {
  const body = table.tBodies[0];
  const rows = Array.from(body.rows);
  rows.sort((a, b) => {
    const x = cellKey(a, column), y = cellKey(b, column);
    if (typeof x === "number" && typeof y === "number") {
      if (isNaN(x) || isNaN(y)) return isNaN(x) - isNaN(y);  // undefined values last either way
      return descending ? y - x : x - y;
    }
    return descending ? String(y).localeCompare(String(x)) : String(x).localeCompare(String(y));
  });
  rows.forEach(row => body.appendChild(row));
  Array.from(table.tHead.rows[0].cells).forEach((th, i) =>
    i === column ? th.setAttribute("aria-sort", descending ? "descending" : "ascending") : th.removeAttribute("aria-sort"));
}
document.querySelectorAll("table.sortable").forEach(table => {
  Array.from(table.tHead.rows[0].cells).forEach((th, i) => th.addEventListener("click", () =>
    sortTable(table, i, th.getAttribute("aria-sort") !== "descending")));
});
const asked = location.hash.match(/^#sort=([\\w-]+)\\.([\\w-]+)(?:\\.(asc|desc))?$/);
if (asked) {
  const table = document.getElementById(asked[1]);
  const header = table && table.querySelector('th[data-key="' + asked[2] + '"]');
  if (header) sortTable(table, header.cellIndex, asked[3] !== "asc");
}
document.body.dataset.sortable = "ready";
// A self-check of the plots: how many pairs of labels within one picture overlap on screen.
let overlaps = 0;
document.querySelectorAll("svg").forEach(svg => {
  const boxes = Array.from(svg.querySelectorAll("text")).map(t => t.getBoundingClientRect());
  boxes.forEach((a, i) => boxes.slice(i + 1).forEach(b => {
    if (a.left < b.right - 1 && b.left < a.right - 1 && a.top < b.bottom - 1 && b.top < a.bottom - 1) overlaps += 1;
  }));
});
document.body.dataset.labelOverlaps = String(overlaps);
"""


def render_html(board: Leaderboard) -> str:
    """The whole page."""
    results = sum(len(section.series) for section in board.sections)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8"><title>Circuit-discovery leaderboard</title>',
        f"<style>{STYLE}</style></head><body>",
        "<h1>Circuit-discovery leaderboard</h1>",
        f"<p>From <code>{_e(board.database)}</code>: {board.runs} runs, {results} results (method &times; model)."
        + (f" Bench: {_e(board.scope)}." if board.scope else "")
        + (f" {board.incomplete} unfinished sweeps left out." if board.incomplete else "")
        + "</p>",
        f"<p>{_e(EXPLANATION)} Click a column header to sort.</p>",
    ]
    if not board.sections:
        parts.append("<p>No finished results yet: run <code>./main.py bench</code>.</p>")
    parts += [_section(section) for section in board.sections]
    parts.append(f"<script>{SCRIPT}</script></body></html>")
    return "\n".join(parts) + "\n"


def _section(section: Section) -> str:
    key = f"{section.model_kind}-{section.ablation}"
    colours = dict(zip(section.labels, palette(len(section.labels))))
    parts = [f'<section id="{_e(key)}">', f"<h2>{_e(section.title)}</h2>", _ranking_table(section, f"ranking-{key}")]
    plots = [_box_plot(section, metric, colours) for metric in COMPARED_METRICS]
    parts += ["<h3>AUROC across models, per method</h3>", f'<div class="plots">{"".join(plots)}</div>']
    for metric in COMPARED_METRICS:
        parts += [f"<h3>{METRIC_TITLES[metric]}: row against column, paired win rate (Holm-corrected p)</h3>", _comparison_table(section, metric)]
    parts += [
        "<h3>Edge AUROC against cost</h3>",
        "<p>One point per method and model; the large ring marks each method's medians.</p>",
        _cost_scatter(section, colours),
        f'<table id="budget-{_e(key)}"><thead><tr><th>budget (passes / model)</th><th class="text">methods within it, '
        "best mean edge AUROC first</th></tr></thead><tbody>"
        + "".join(f'<tr><td>{budget}</td><td class="text">{_e(methods)}</td></tr>' for budget, methods in budget_rows(section))
        + "</tbody></table>",
    ]
    parts += ["<h3>Edge ROC curves per model</h3>", _legend(colours), _roc_grid(section, colours)]
    parts += ["<h3>Every result</h3>", _results_table(section, f"results-{key}"), "</section>"]
    return "\n".join(parts)


def _ranking_table(section: Section, table_id: str) -> str:
    columns = [
        ("rank", "rank", False), ("method", "method", True), ("models", "models", False),
        ("edge_auroc_mean", "edge AUROC mean [95% CI]", False), ("edge_auroc_median", "edge AUROC median", False),
        ("component_edge_auroc_mean", "component edge AUROC mean [95% CI]", False), ("node_auroc_mean", "node AUROC mean [95% CI]", False), ("node_auroc_median", "node AUROC median", False),
        ("cpr_mean", "CPR", False), ("cmd_mean", "CMD", False), ("cost_median_s", "median s / model", False),
        ("cost_median_fpe", "median passes / model", False),
    ]
    rows = []
    for s in section.summaries:
        cells = [
            _cell(s.rank) if s.rank is not None else '<td data-value="">-</td>', _cell(s.display_label), _cell(s.models),
            _interval_cell(s.edge_auroc_mean, s.edge_auroc_interval), _cell(s.edge_auroc_median),
            _interval_cell(s.component_edge_auroc_mean, s.component_edge_auroc_interval),
            _interval_cell(s.node_auroc_mean, s.node_auroc_interval), _cell(s.node_auroc_median),
            _cell(s.cpr_mean), _cell(s.cmd_mean), _cell(s.cost_median_s), _cell(s.cost_median_fpe),
        ]
        ranked = "" if s.rank is not None else ' class="unranked"'
        rows.append(f'<tr data-method="{_e(s.label)}"{ranked}>' + "".join(cells) + "</tr>")
    note = f"<p>Ranked over the {len(section.common_models)} models every built-in method ran on: {_e(section.common_names)}."
    if section.unranked:
        note += f" Greyed rows ran on fewer models and are not ranked: {_e(', '.join(s.label for s in section.unranked))}."
    described = "".join(f"<li><b>{_e(s.label)}</b>: {_e(s.description)}</li>" for s in section.summaries if s.description)
    return _table(table_id, columns, rows) + note + "</p>" + (f"<p>Submissions:</p><ul>{described}</ul>" if described else "")


def _interval_cell(mean: float | None, interval: tuple[float, float] | None) -> str:
    if mean is None or interval is None:
        return _cell(mean)
    shown = f"{format_number(mean, 3)} [{format_number(interval[0])}, {format_number(interval[1])}]"
    return f'<td data-value="{mean!r}">{shown}</td>'


def _results_table(section: Section, table_id: str) -> str:
    columns = [
        ("model", "model", True), ("size", "true / candidate edges", True), ("method", "method", True),
        ("source", "source", True), ("points", "points", False), ("roc", "ROC from", True),
        ("edge_auroc", "edge AUROC", False), ("spread", "± over seeds", False), ("node_auroc", "node AUROC", False),
        ("cpr", "CPR", False), ("cmd", "CMD", False), ("cost_s", "s / model", False),
    ]
    rows = []
    for s in section.series:
        size = "" if s.positives is None else f"{s.positives}/{s.candidates}"
        values = [size, s.label, s.source, s.points, s.roc_source, s.edge_auroc, s.edge_auroc_spread, s.node_auroc, s.cpr, s.cmd, s.cost_s]
        order = "" if s.case_id is None else f' data-value="{s.case_id}"'
        cells = f'<td class="text"{order}>{_e(ModelId.parse(s.model_id).display_name())}</td>' + "".join(_cell(v) for v in values)
        rows.append(f'<tr data-model="{_e(s.model_id)}" data-method="{_e(s.label)}">{cells}</tr>')
    return _table(table_id, columns, rows)


def _table(table_id: str, columns: list[tuple[str, str, bool]], rows: list[str]) -> str:
    header = "".join(f'<th data-key="{key}"{" class=text" if text else ""}>{_e(title)}</th>' for key, title, text in columns)
    return f'<table class="sortable" id="{_e(table_id)}"><thead><tr>{header}</tr></thead><tbody>{"".join(rows)}</tbody></table>'


def _cell(value: object) -> str:
    """A table cell; numbers carry their exact value for sorting."""
    if isinstance(value, str):
        return f'<td class="text">{_e(value)}</td>'
    if value is None:
        return '<td data-value="">n/a</td>'
    shown = str(value) if isinstance(value, int) else f"{value:.1f}" if value > 1 else format_number(value, 3)
    return f'<td data-value="{value!r}">{shown}</td>'


def _comparison_table(section: Section, metric: str) -> str:
    labels = section.labels
    header = "<tr><th></th>" + "".join(f"<th>{_e(label)}</th>" for label in labels) + "</tr>"
    rows = []
    for first in labels:
        cells = []
        for second in labels:
            c = section.comparisons[metric].get((first, second))
            cells.append("<td></td>" if c is None else f"<td>{_e(comparison_text(c))}</td>")
        rows.append(f'<tr><th class="text">{_e(first)}</th>{"".join(cells)}</tr>')
    return f"<table><thead>{header}</thead><tbody>{''.join(rows)}</tbody></table>"


def palette(count: int) -> list[str]:
    """`count` colours, none repeated: the ten of matplotlib's tab10, else hues evenly around the wheel."""
    if count <= len(PALETTE):
        return list(PALETTE[:count])
    return [f"hsl({round(360 * i / count)}, 70%, 42%)" for i in range(count)]


def _box_plot(section: Section, metric: str, colours: dict[str, str]) -> str:
    """Box (quartiles), median, whiskers to the furthest values within 1.5 IQR, and every value as a dot.
    Method names are written upright when they fit their column, else turned on end below it."""
    width_per, left, top, height = 64, 40, 24, 200
    labels = section.labels
    width = left + width_per * len(labels) + 10
    longest = max((len(label) for label in labels), default=0) * CHAR_WIDTH
    vertical = longest > width_per - 6
    bottom = (longest + 16) if vertical else 30

    def y(value: float) -> float:
        return top + (1 - value) * height

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{top + height + bottom}" role="img">']
    parts.append(f'<text x="{left}" y="14">{_e(METRIC_TITLES[metric])}</text>')
    for tick in (0, 0.25, 0.5, 0.75, 1):
        parts.append(f'<line x1="{left}" x2="{width - 10}" y1="{y(tick)}" y2="{y(tick)}" stroke="#e5e5e5"/>')
        parts.append(f'<text x="{left - 6}" y="{y(tick) + 4}" text-anchor="end">{tick:g}</text>')
    for i, label in enumerate(labels):
        values = np.array([v for v in (getattr(s, metric) for s in section.series if s.label == label) if v is not None])
        centre = left + width_per * (i + 0.5)
        if vertical:
            anchor = f'x="{centre + 4}" y="{top + height + 8}" text-anchor="end" transform="rotate(-90 {centre + 4} {top + height + 8})"'
        else:
            anchor = f'x="{centre}" y="{top + height + 16}" text-anchor="middle"'
        parts.append(f"<text {anchor}>{_e(label)}</text>")
        if len(values) == 0:
            continue
        q1, median, q3 = np.percentile(values, [25, 50, 75])
        inside = values[(values >= q1 - 1.5 * (q3 - q1)) & (values <= q3 + 1.5 * (q3 - q1))]
        colour, half = colours[label], width_per * 0.3
        parts.append(f'<line x1="{centre}" x2="{centre}" y1="{y(inside.max())}" y2="{y(inside.min())}" stroke="{colour}"/>')
        parts.append(
            f'<rect x="{centre - half}" y="{y(q3)}" width="{2 * half}" height="{max(y(q1) - y(q3), 1)}" '
            f'fill="{colour}" fill-opacity="0.25" stroke="{colour}"><title>{_e(label)}: median {median:.3f}, '
            f"quartiles {q1:.3f}-{q3:.3f}, n={len(values)}</title></rect>"
        )
        parts.append(f'<line x1="{centre - half}" x2="{centre + half}" y1="{y(median)}" y2="{y(median)}" stroke="{colour}" stroke-width="2"/>')
        for j, value in enumerate(values):
            offset = (j % 5 - 2) * half / 3  # spread ties sideways so every case stays visible
            parts.append(f'<circle cx="{centre + offset}" cy="{y(value)}" r="2" fill="{colour}"/>')
    parts.append("</svg>")
    return "".join(parts)


def _cost_scatter(section: Section, colours: dict[str, str]) -> str:
    """Edge AUROC (y) against forward-pass equivalents per model (x, log scale)."""
    points = [(s.label, s.cost_fpe, s.edge_auroc) for s in section.series if s.cost_fpe and s.edge_auroc is not None]
    if not points:
        return "<p>No costs recorded.</p>"
    width, height, left, top, bottom = 520, 220, 44, 10, 40
    low = np.floor(np.log10(min(cost for _, cost, _ in points)))
    high = max(np.ceil(np.log10(max(cost for _, cost, _ in points))), low + 1)

    def x(cost: float) -> float:
        return left + (np.log10(cost) - low) / (high - low) * (width - left - 10)

    def y(value: float) -> float:
        return top + (1 - value) * height

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{top + height + bottom}" role="img">']
    for tick in (0, 0.5, 1):
        parts.append(f'<line x1="{left}" x2="{width - 10}" y1="{y(tick)}" y2="{y(tick)}" stroke="#e5e5e5"/>')
        parts.append(f'<text x="{left - 6}" y="{y(tick) + 4}" text-anchor="end">{tick:g}</text>')
    for exponent in range(int(low), int(high) + 1):
        parts.append(f'<text x="{x(10.0 ** exponent):.1f}" y="{top + height + 17}" text-anchor="middle">1e{exponent}</text>')
    parts.append(f'<text x="{(left + width) / 2}" y="{top + height + 33}" text-anchor="middle">forward-pass equivalents per model</text>')
    for label, cost, value in points:
        parts.append(f'<circle cx="{x(cost):.1f}" cy="{y(value):.1f}" r="2.5" fill="{colours[label]}" fill-opacity="0.6"/>')
    for summary in section.ranked:
        if summary.cost_median_fpe and summary.edge_auroc_median is not None:
            parts.append(
                f'<circle cx="{x(summary.cost_median_fpe):.1f}" cy="{y(summary.edge_auroc_median):.1f}" r="7" fill="none" '
                f'stroke="{colours[summary.label]}" stroke-width="2"><title>{_e(summary.label)}: median '
                f"{summary.cost_median_fpe:,.0f} passes, edge AUROC {summary.edge_auroc_median:.3f}</title></circle>"
            )
    parts.append("</svg>")
    return "".join(parts)


def _roc_grid(section: Section, colours: dict[str, str]) -> str:
    by_model: dict[str, list[SeriesResult]] = {}
    for s in section.series:
        by_model.setdefault(s.model_id, []).append(s)
    return '<div class="roc-grid">' + "".join(_roc_plot(model_id, results, colours) for model_id, results in by_model.items()) + "</div>"


def _roc_plot(model_id: str, results: list[SeriesResult], colours: dict[str, str]) -> str:
    """One model's edge ROC curves, each method's shifted by a pixel or two from the next so that
    curves that coincide (every perfect method's) stay visible side by side."""
    size, margin, top = 150, 44, 8
    name = ModelId.parse(model_id).display_name()
    width = max(size + margin + 8, margin + size / 2 + len(name) * CHAR_WIDTH / 2 + 4)
    shown = [s for s in results if s.edge_auroc is not None]

    def point(fpr: float, tpr: float, shift: float) -> str:
        return f"{margin + fpr * size + shift:.1f},{top + (1 - tpr) * size - shift:.1f}"

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{top + size + 50}" role="img">',
        f'<rect x="{margin}" y="{top}" width="{size}" height="{size}" fill="none" stroke="#999"/>',
        f'<line x1="{margin}" y1="{top + size}" x2="{margin + size}" y2="{top}" stroke="#ddd" stroke-dasharray="3,3"/>',
        f'<text x="{margin + size / 2}" y="{top + size + 29}" text-anchor="middle">FPR</text>',
        f'<text x="{margin + size / 2}" y="{top + size + 45}" text-anchor="middle">{_e(name)}</text>',
        f'<text x="12" y="{top + size / 2}" text-anchor="middle" transform="rotate(-90 12 {top + size / 2})">TPR</text>',
    ]
    for tick in (0, 0.5, 1):
        x, y = margin + tick * size, top + (1 - tick) * size
        parts.append(f'<line x1="{x}" x2="{x}" y1="{top + size}" y2="{top + size + 3}" stroke="#999"/>')
        parts.append(f'<text x="{x}" y="{top + size + 14}" text-anchor="middle">{tick:g}</text>')
        parts.append(f'<line x1="{margin - 3}" x2="{margin}" y1="{y}" y2="{y}" stroke="#999"/>')
        parts.append(f'<text x="{margin - 5}" y="{y + 4}" text-anchor="end">{tick:g}</text>')
    for i, s in enumerate(shown):
        shift = 1.5 * (i - (len(shown) - 1) / 2)
        polyline = " ".join(point(f, t, shift) for f, t in roc_envelope(s.edge_roc))
        parts.append(
            f'<polyline points="{polyline}" fill="none" stroke="{colours[s.label]}" stroke-width="1.5" stroke-opacity="0.8">'
            f"<title>{_e(s.label)}: edge AUROC {s.edge_auroc:.3f}</title></polyline>"
        )
    parts.append("</svg>")
    return "".join(parts)


def _legend(colours: dict[str, str]) -> str:
    items = "".join(f'<span><i style="background:{colour}"></i>{_e(label)}</span>' for label, colour in colours.items())
    return f'<p class="legend">{items}</p>'


def _e(value: object) -> str:
    return html.escape(str(value))

