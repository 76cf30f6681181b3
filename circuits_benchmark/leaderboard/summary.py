"""From stored runs to what the leaderboard shows: one result per (method, model), per-method
summaries on common ground, and paired statistics.

A series is the set of runs sharing a series key: the points of a threshold sweep, or one run. A
sweep's ROC is made of the confusion (FPR, TPR) of each point's circuit, as `evaluation.roc` does
for a sweep run in one process; a single run's ROC is its score ranking; both at every level of
`evaluation.scoring_levels` (q/k/v edges, the primary level; component edges; nodes). A sweep
missing points (an interrupted bench) is left out until a rerun completes it. CPR and CMD come from
the series' reference run, the method at its default setting. Every method runs on several data
seeds (a stochastic one draws its own randomness from the seed too), one series per seed; they are
combined into one result per (method, model): the mean, with the standard deviation across seeds
as its spread, and the seeds' values kept for the bootstrap intervals, which resample seeds
within models.

Ranking on common ground. In each section (model kind x ablation; the hard family's SIIT models
are a kind of their own) the common models are those
every built-in method ran on (every method, when there are only submissions). A method that ran on
all of them is ranked by its mean edge AUROC over exactly those models; equal means share a rank
(1, 1, 3). Methods that ran on fewer models are listed apart, with their own coverage, never
ranked against the rest. Pairwise comparisons pair two methods on the models both ran on
(`evaluation.statistics`); each table's p-values are Holm-corrected across its pairs of methods.
"""

from __future__ import annotations

import dataclasses
import statistics
from typing import Iterable

from circuits_benchmark.choices import RocSource, RunSource
from circuits_benchmark.evaluation.roc import auroc
from circuits_benchmark.evaluation.statistics import PairedComparison, bootstrap_interval, holm_adjusted, paired_permutation_test
from circuits_benchmark.hard import TASK_PREFIX as HARD_TASK_PREFIX
from circuits_benchmark.models.model_id import ModelId
from circuits_benchmark.storage.results_db import RunRecord

COMPARED_METRICS = ("edge_auroc", "component_edge_auroc", "node_auroc")
# Metric name -> the level of `evaluation.scoring_levels` it is the AUROC of.
METRIC_LEVELS = {"edge_auroc": "edges", "component_edge_auroc": "component_edges", "node_auroc": "nodes"}
# Means closer than this rank as equal (float noise of averaging, not a difference).
RANK_RESOLUTION = 1e-9


@dataclasses.dataclass
class SeriesResult:
    """One method variant on one model: its ROC, AUROCs and faithfulness.

    cost_s: what the result cost per model: the runs' wall time for built-in methods (a sweep's
    points summed; seeds averaged), the submitter's reported seconds for a submission (None when
    not reported: our scoring time is no cost of theirs). positives / candidates: ground-truth
    edges and candidate edges of the model (q/k/v level). seeds, edge_auroc_spread: how many
    seeds were combined and the standard deviation of their edge AUROCs (None for one seed);
    seed_values: metric -> its value on each seed (for the bootstrap).
    """

    label: str
    source: str
    model_id: str
    model_kind: str
    case_id: int | None
    ablation: str
    points: int
    roc_source: RocSource
    edge_roc: list[tuple[float, float]]
    node_roc: list[tuple[float, float]]
    edge_auroc: float | None
    node_auroc: float | None
    cpr: float | None
    cmd: float | None
    wall_time_s: float
    seed: int
    cost_s: float | None
    positives: int | None
    candidates: int | None
    seeds: int = 1
    edge_auroc_spread: float | None = None
    description: str = ""
    cost_fpe: float | None = None  # forward-pass equivalents (a sweep's points summed; seeds averaged)
    component_edge_auroc: float | None = None
    seed_values: dict[str, list[float]] = dataclasses.field(default_factory=dict)

    @property
    def section(self) -> tuple[str, str]:
        """Results are only compared within one model kind and ablation (the hard family's
        models, SIIT-trained, are a kind of their own: `section_kind`)."""
        return section_kind(self.model_kind, self.model_id), self.ablation


def section_kind(model_kind: str, model_id: str) -> str:
    """The leaderboard section a model belongs to: its kind, but "hard" for a hard task's SIIT model."""
    if model_kind == "siit" and str(ModelId.parse(model_id).case).startswith(HARD_TASK_PREFIX):
        return "hard"
    return model_kind


@dataclasses.dataclass
class MethodSummary:
    """A method variant across the models of one section (means and medians skip undefined values).

    rank: shared by equal mean edge AUROCs; None for a method not run on every common model.
    models: how many models the figures cover. *_interval: 95% bootstrap interval of the mean.
    cost_median_s: median cost per model (None when no cost is known). seeds: most seeds per model.
    """

    label: str
    source: str
    rank: int | None
    models: int
    edge_auroc_mean: float | None
    edge_auroc_interval: tuple[float, float] | None
    edge_auroc_median: float | None
    component_edge_auroc_mean: float | None
    component_edge_auroc_interval: tuple[float, float] | None
    node_auroc_mean: float | None
    node_auroc_interval: tuple[float, float] | None
    node_auroc_median: float | None
    cpr_mean: float | None
    cmd_mean: float | None
    cost_median_s: float | None
    seeds: int
    description: str = ""
    cost_median_fpe: float | None = None

    @property
    def display_label(self) -> str:
        """The label as tables show it: marked as a submission, with its seed count when above one."""
        return self.label + (" (submission)" if self.source == RunSource.SUBMISSION else "") + (f" ({self.seeds} seeds)" if self.seeds > 1 else "")


def series_results(runs: Iterable[RunRecord]) -> tuple[list[SeriesResult], int]:
    """The complete series among `runs`, and how many incomplete sweeps were left out."""
    groups: dict[str, list[RunRecord]] = {}
    for run in runs:
        if run.source != "run":  # single `./main.py run` results are kept in the store, not ranked
            groups.setdefault(run.series_key, []).append(run)
    complete, incomplete = [], 0
    for group in groups.values():
        if len(group) < group[0].sweep_size:
            incomplete += 1
        else:
            complete.append(_series(group))
    complete.sort(key=lambda s: (s.model_kind, s.ablation, s.case_id if s.case_id is not None else -1, s.model_id, s.label))
    return complete, incomplete


def _series(group: list[RunRecord]) -> SeriesResult:
    reference = next((run for run in group if run.reference), group[0])
    if len(group) > 1:
        source = RocSource.SWEEP
        rocs = {metric: _confusion_points(group, level) for metric, level in METRIC_LEVELS.items()}
        aurocs = {metric: auroc(points) for metric, points in rocs.items()}
    else:
        source = RocSource.RANKING
        rocs = {metric: reference.roc.get(level, []) for metric, level in METRIC_LEVELS.items()}
        aurocs = {metric: reference.metrics.get(metric) for metric in METRIC_LEVELS}
    confusion = (reference.result.get("evaluation") or {}).get("at_threshold", {}).get("edges")
    wall_time_s = sum(run.wall_time_s for run in group)
    # A series is named by its reference run.
    identity = {name: getattr(reference, name) for name in ("label", "source", "model_id", "model_kind", "case_id", "ablation", "seed")}
    return SeriesResult(
        **identity,
        points=len(group),
        roc_source=source,
        edge_roc=rocs["edge_auroc"],
        node_roc=rocs["node_auroc"],
        **aurocs,
        cpr=reference.metrics.get("cpr"),
        cmd=reference.metrics.get("cmd"),
        wall_time_s=wall_time_s,
        cost_s=reference.parameters.get("reported_seconds") if reference.source == RunSource.SUBMISSION else wall_time_s,
        positives=None if confusion is None else confusion["tp"] + confusion["fn"],
        candidates=None if confusion is None else sum(confusion[k] for k in ("tp", "fp", "fn", "tn")),
        description=reference.parameters.get("description", ""),
        cost_fpe=_sum_or_none(run.metrics.get("cost_fpe") for run in group),
    )


def _sum_or_none(values: Iterable[float | None]) -> float | None:
    """The sum, or None when any value is unknown (a submission's cost in passes is)."""
    values = list(values)
    return None if any(v is None for v in values) else float(sum(values))


def _confusion_points(group: list[RunRecord], level: str) -> list[tuple[float, float]]:
    """(FPR, TPR) of each sweep point's circuit at a level; points with an undefined rate are
    dropped, as in roc.py."""
    points = [(run.metrics.get(f"{level[:-1]}_fpr"), run.metrics.get(f"{level[:-1]}_tpr")) for run in group]
    return [(f, t) for f, t in points if f is not None and t is not None]


def combine_seeds(series: list[SeriesResult]) -> list[SeriesResult]:
    """One result per (section, method, model): several seeds become their mean (ROC: the lowest
    seed's, for the plots), with the edge AUROC's standard deviation as the spread and every
    seed's value of each compared metric kept."""
    groups: dict[tuple, list[SeriesResult]] = {}
    for result in series:
        groups.setdefault((*result.section, result.label, result.model_id), []).append(result)
    combined = []
    for group in groups.values():
        group = sorted(group, key=lambda r: r.seed)
        seed_values = {metric: _values(group, metric) for metric in COMPARED_METRICS}
        if len(group) == 1:
            combined.append(dataclasses.replace(group[0], seed_values=seed_values))
            continue
        edge = seed_values["edge_auroc"]
        combined.append(dataclasses.replace(
            group[0],
            **{metric: _mean(values) for metric, values in seed_values.items()},
            seed_values=seed_values,
            cpr=_mean(_values(group, "cpr")),
            cmd=_mean(_values(group, "cmd")),
            wall_time_s=statistics.mean(r.wall_time_s for r in group),
            cost_s=_mean(_values(group, "cost_s")),
            cost_fpe=_mean(_values(group, "cost_fpe")),
            seeds=len(group),
            edge_auroc_spread=statistics.pstdev(edge) if len(edge) > 1 else None,
        ))
    return combined


def common_models(series: list[SeriesResult]) -> set[str]:
    """The models every built-in method of a section ran on (every method, if none is built in)."""
    covered: dict[str, set[str]] = {}
    for result in series:
        covered.setdefault(result.label, set()).add(result.model_id)
    built_in = {r.label for r in series if r.source == RunSource.BENCH}
    sets = [models for label, models in covered.items() if label in built_in or not built_in]
    return set.intersection(*sets) if sets else set()


def method_summaries(series: list[SeriesResult], common: set[str]) -> list[MethodSummary]:
    """One summary per method: ranked ones (over `common`, best mean edge AUROC first, ties sharing
    a rank), then the others (over their own models, unranked)."""
    by_label: dict[str, list[SeriesResult]] = {}
    for result in series:
        by_label.setdefault(result.label, []).append(result)
    ranked, unranked = [], []
    for label, results in by_label.items():
        if common and common <= {r.model_id for r in results}:
            ranked.append(_summary(label, [r for r in results if r.model_id in common]))
        else:
            unranked.append(_summary(label, results))
    ranked.sort(key=lambda s: (-_rank_key(s), s.label))
    for position, summary in enumerate(ranked):
        tied = position and _rank_key(ranked[position - 1]) == _rank_key(summary)
        summary.rank = ranked[position - 1].rank if tied else position + 1
    unranked.sort(key=lambda s: (-_rank_key(s), s.label))
    return ranked + unranked


def _rank_key(summary: MethodSummary) -> float:
    mean = summary.edge_auroc_mean
    return -1.0 if mean is None else round(mean / RANK_RESOLUTION) * RANK_RESOLUTION


def _summary(label: str, results: list[SeriesResult]) -> MethodSummary:
    edge, component, node = (_values(results, metric) for metric in COMPARED_METRICS)
    costs, passes = _values(results, "cost_s"), _values(results, "cost_fpe")
    return MethodSummary(
        label=label,
        source=results[0].source,
        rank=None,
        models=len(results),
        edge_auroc_mean=_mean(edge),
        edge_auroc_interval=_interval(results, "edge_auroc"),
        edge_auroc_median=statistics.median(edge) if edge else None,
        component_edge_auroc_mean=_mean(component),
        component_edge_auroc_interval=_interval(results, "component_edge_auroc"),
        node_auroc_mean=_mean(node),
        node_auroc_interval=_interval(results, "node_auroc"),
        node_auroc_median=statistics.median(node) if node else None,
        cpr_mean=_mean(_values(results, "cpr")),
        cmd_mean=_mean(_values(results, "cmd")),
        cost_median_s=statistics.median(costs) if costs else None,
        seeds=max(r.seeds for r in results),
        description=next((r.description for r in results if r.description), ""),
        cost_median_fpe=statistics.median(passes) if passes else None,
    )


def _interval(results: list[SeriesResult], metric: str) -> tuple[float, float] | None:
    """The bootstrap interval of a metric's mean over models, resampling each model's data seeds."""
    per_model = [r.seed_values.get(metric) or [getattr(r, metric)] for r in results if getattr(r, metric) is not None]
    return bootstrap_interval(per_model) if per_model else None


# Budgets of the equal-budget table, in forward-pass equivalents per model.
BUDGETS = (1e3, 1e4, 1e5, 1e6)


def equal_budget_table(summaries: list[MethodSummary]) -> list[tuple[float, list[MethodSummary]]]:
    """For each budget, the ranked methods whose median cost per model fits in it, best mean edge
    AUROC first. The rule: a method counts at budget B when its median cost per model (forward-pass
    equivalents, a sweep's points summed) is at most B; its AUROC is what it reaches at that cost."""
    priced = [s for s in summaries if s.rank is not None and s.cost_median_fpe is not None]
    return [
        (budget, sorted((s for s in priced if s.cost_median_fpe <= budget), key=lambda s: (-_rank_key(s), s.label)))
        for budget in BUDGETS
    ]


def comparisons(series: list[SeriesResult], labels: list[str], metric: str) -> dict[tuple[str, str], PairedComparison]:
    """Every ordered pair of different methods, paired on the models both have a value on, with
    p-values Holm-corrected across the table's unordered pairs (each tested once, then mirrored)."""
    values = {label: {s.model_id: getattr(s, metric) for s in series if s.label == label and getattr(s, metric) is not None} for label in labels}
    tested = {}
    for i, first in enumerate(labels):
        for second in labels[i + 1 :]:
            shared = sorted(set(values[first]) & set(values[second]))
            if shared:
                tested[first, second] = paired_permutation_test(
                    [values[first][m] for m in shared], [values[second][m] for m in shared]
                )
    adjusted = holm_adjusted([c.p_value for c in tested.values()])
    table = {}
    for (first, second), comparison, p_value in zip(tested, tested.values(), adjusted):
        table[first, second] = dataclasses.replace(comparison, adjusted_p_value=p_value)
        table[second, first] = dataclasses.replace(
            comparison, adjusted_p_value=p_value, win_rate=1 - comparison.win_rate, mean_difference=-comparison.mean_difference
        )
    return table


def sections(series: list[SeriesResult]) -> dict[tuple[str, str], list[SeriesResult]]:
    """Series grouped by (model kind, ablation), compiled models first."""
    grouped: dict[tuple[str, str], list[SeriesResult]] = {}
    for result in series:
        grouped.setdefault(result.section, []).append(result)
    return dict(sorted(grouped.items(), key=lambda item: (item[0][0] != "tracr", item[0])))


def _values(results: list[SeriesResult], metric: str) -> list[float]:
    return [v for v in (getattr(r, metric) for r in results) if v is not None]


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


@dataclasses.dataclass
class Section:
    """The results of one model kind under one ablation: ranked on its common models."""

    model_kind: str
    ablation: str
    series: list[SeriesResult]
    common_models: list[str]
    summaries: list[MethodSummary]
    comparisons: dict[str, dict[tuple[str, str], PairedComparison]]  # metric -> (row, column) -> comparison

    @property
    def common_names(self) -> str:
        """The common models as tables name them (`case 3`, `siit:3:release`), comma-separated."""
        return ", ".join(ModelId.parse(m).display_name() for m in self.common_models)

    @property
    def labels(self) -> list[str]:
        """Method labels: ranked ones in rank order, then the unranked."""
        return [s.label for s in self.summaries]

    @property
    def ranked(self) -> list[MethodSummary]:
        return [s for s in self.summaries if s.rank is not None]

    @property
    def unranked(self) -> list[MethodSummary]:
        return [s for s in self.summaries if s.rank is None]

    @property
    def title(self) -> str:
        kind = {
            "tracr": "compiled (tracr) models", "siit": "SIIT-trained models", "compressed": "compressed tracr models",
            "hard": "hard known-circuit models (SIIT-trained, issue 25)",
        }.get(self.model_kind, f"{self.model_kind} models")
        return f"{kind[0].upper()}{kind[1:]}, {self.ablation} ablation"


@dataclasses.dataclass
class Leaderboard:
    """Everything the leaderboard pages show: where it came from, what the last bench into it covered
    (None: no bench yet), and one section per model kind and ablation."""

    database: str
    runs: int
    incomplete: int
    sections: list[Section]
    scope: str | None = None


def build_leaderboard(runs: list[RunRecord], database: str, scope: str | None = None) -> Leaderboard:
    """Ranks and compares the stored runs; `database` names their source in the pages, `scope` what
    the bench that made them covered (`ResultsStore.scope`)."""
    complete, incomplete = series_results(runs)
    built = []
    for (kind, ablation), results in sections(combine_seeds(complete)).items():
        common = common_models(results)
        summaries = method_summaries(results, common)
        labels = [s.label for s in summaries]
        tables = {metric: comparisons(results, labels, metric) for metric in COMPARED_METRICS}
        ordered_common = sorted(common, key=lambda m: next((r.case_id or 0, m) for r in results if r.model_id == m))
        built.append(Section(kind, ablation, results, ordered_common, summaries, tables))
    return Leaderboard(database, len(runs), incomplete, built, scope)
