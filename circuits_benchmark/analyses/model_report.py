"""`./main.py report`: one offline HTML page per model gathering what is known and measured about
it: the ground-truth circuit, the discovery runs in the results store, and the probing, attention
and layer-corruption analyses (`model_analyses`), each with its picture and its score against the
known computation. Pictures are embedded, so the page is one file that opens anywhere.
"""

from __future__ import annotations

import base64
import html
from pathlib import Path
from typing import Any

from circuits_benchmark.choices import Ablation
from circuits_benchmark.errors import BenchmarkError
from circuits_benchmark.analyses.model_analyses import attention_report, layers_report, probe_report
from circuits_benchmark.analyses.eval_files import eval_dir
from circuits_benchmark.formatting import format_number
from circuits_benchmark.models.benchmark_model import BenchmarkModel
from circuits_benchmark.models.registry import load_benchmark_model
from circuits_benchmark.storage.files import atomic_write_bytes
from circuits_benchmark.storage.results_db import ResultsStore

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; max-width: 1200px; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; }
th { background: #f2f2f2; }
img { max-width: 100%; border: 1px solid #eee; }
.wrong { color: #b00; font-weight: bold; }
"""
# Counts the pictures that loaded, so a browser test can check the page renders whole.
SCRIPT = """
window.addEventListener("load", () => {
  const images = [...document.images];
  document.body.dataset.images = images.length;
  document.body.dataset.imagesLoaded = images.filter((i) => i.complete && i.naturalWidth > 0).length;
  document.body.dataset.overflowing = [...document.querySelectorAll("table")].filter(
    (t) => t.getBoundingClientRect().right > document.documentElement.clientWidth + 1).length;
});
"""


def write_model_report(model_id: str, output_dir: Path, n_examples: int = 500, seed: int = 0) -> Path:
    """Runs the three analyses on the model and writes `report.html` beside them; returns its path."""
    model = load_benchmark_model(model_id, output_dir)
    target = eval_dir(output_dir, "report", model.model_id)
    analyses = {
        "probe": probe_report(model.model_id, output_dir, n_examples, seed),
        "attention": attention_report(model.model_id, output_dir, n_examples, seed),
        "layers": layers_report(model.model_id, output_dir, n_examples, seed),
    }
    circuit_png = _draw_ground_truth(model, target / "circuit.png")
    with ResultsStore(output_dir) as store:
        runs = [run for run in store.runs(model_id=model.model_id) if run.reference]
    sections = [
        _circuit_section(circuit_png),
        _discovery_section(runs),
        _probe_section(analyses["probe"]),
        _attention_section(analyses["attention"]),
        _layers_section(analyses["layers"]),
    ]
    title = html.escape(f"{model.model_id}: what is known and what the analyses find")
    page = (
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{title}</title>"
        f"<style>{STYLE}</style><script>{SCRIPT}</script></head><body><h1>{title}</h1>"
        f"<p>{n_examples} inputs, seed {seed}.</p>{''.join(sections)}</body></html>"
    )
    path = target / "report.html"
    atomic_write_bytes(path, page.encode())
    return path


def _draw_ground_truth(model: BenchmarkModel, path: Path) -> Path | None:
    """The ground truth's diagram, or None without one (or without Graphviz)."""
    from circuits_benchmark.circuits.drawing import draw_circuit

    truth = model.ground_truth(Ablation.RESAMPLE)
    if truth is None:
        return None
    try:
        return draw_circuit(truth, path, title=f"{model.model_id}: ground truth (resample ablation)")
    except BenchmarkError:
        return None


def _image(path: Path | str | None, alt: str) -> str:
    if path is None or not Path(path).is_file():
        return f"<p>(no picture: {html.escape(alt)})</p>"
    data = base64.b64encode(Path(path).read_bytes()).decode()
    return f"<img alt='{html.escape(alt)}' src='data:image/png;base64,{data}'>"


def _table(columns: list[str], rows: list[list[Any]]) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(_cell(value) for value in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _cell(value: Any) -> str:
    if value is False:
        return "<td class='wrong'>no</td>"
    if value is True:
        return "<td>yes</td>"
    if isinstance(value, float):
        return f"<td>{format_number(value)}</td>"
    return f"<td>{html.escape('' if value is None else str(value))}</td>"


def _share(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.0f}%"


def _circuit_section(png: Path | None) -> str:
    return f"<h2>Ground-truth circuit</h2>{_image(png, 'no known circuit')}"


def _discovery_section(runs: list[Any]) -> str:
    if not runs:
        return "<h2>Circuit discovery</h2><p>No runs of this model in the results store yet (`./main.py run` or `bench`).</p>"
    rows = [
        [run.label, run.ablation, run.source, run.seed, run.metrics.get("edge_auroc"), run.metrics.get("node_auroc"),
         run.metrics.get("cpr"), run.metrics.get("cmd")]
        for run in sorted(runs, key=lambda r: (r.ablation, r.label, r.seed))
    ]
    columns = ["method", "ablation", "source", "seed", "edge AUROC", "node AUROC", "CPR", "CMD"]
    return f"<h2>Circuit discovery</h2>{_table(columns, rows)}"


def _probe_section(report: dict[str, Any]) -> str:
    summary = report["summary"]
    scored = report["scored"] and summary["location_right"] is not None
    verdict = (
        f"Probing places {_share(summary['location_right'])} of the variables where they are written and names the "
        f"writer of {_share(summary['writer_right'])}." if scored else "No known variables beyond the embedding's: not scored."
    )
    rows = [
        [v["variable"], ", ".join(v["writers"]), v["known_location"], v["claimed_location"] or "nowhere",
         v["claimed_writer"] or "none", v["location_right"] if scored else None, v["writer_right"] if scored else None]
        for v in report["variables"]
    ]
    columns = ["variable", "written by", "known location", "first decodable", "best component", "location right", "writer right"]
    return (
        f"<h2>Probing</h2><p>{verdict} Decodable: held-out score at least {report['probe_threshold']} and "
        f"at least {report['min_selectivity']} above the shuffled-label control.</p>"
        f"{_table(columns, rows)}{_image(report['picture'], 'probing heatmap')}"
    )


def _attention_section(report: dict[str, Any]) -> str:
    summary = report["summary"]
    verdict = (
        f"{_share(summary['right'])} of the {summary['heads_with_truth']} heads with a known selector are labelled rightly."
        if summary["right"] is not None else "No head has a known selector: labels are not scored."
    )
    rows = [[h["head"], h["role"], h["score"], h["known_role"], h["selector"], h["right"]] for h in report["heads"]]
    columns = ["head", "label from patterns", "score", "known role", "selector", "right"]
    return (
        f"<h2>Attention roles</h2><p>{verdict}</p>{_table(columns, rows)}"
        f"{_image(report['picture'], 'attention patterns')}"
    )


def _layers_section(report: dict[str, Any]) -> str:
    verdict = (
        "No known circuit to predict with." if report["agreement"] is None
        else f"The observed effects agree with the circuit's prediction for {_share(report['agreement'])} of the corruptions."
    )
    return f"<h2>Layer corruption</h2><p>{verdict}</p>{_image(report['picture'], 'layer corruption')}"
