"""The accuracy-estimation challenge: estimate a model's accuracy from its weights, cheaply.

AlgZoo's authors judge an explanation by how well it lets one estimate the model's accuracy:
the mean squared error of the estimate against the true accuracy, as a function of compute,
beside random sampling's p(1-p)/k. Their protocol, which `noise_study` runs: add noise to the
weights (enough to move the accuracy), measure each noisy model's true accuracy by large
sampling, and average every estimator's squared error over the noisy models.

Every estimator has one signature, `(model, budget, seed) -> Estimate`, where the budget and the
reported cost are in forward-pass equivalents (one model run on one input = 1; counted in
multiply-accumulates for the RNN estimators, which do other work than forward passes).

- `sampling`: the baseline, k = budget fresh inputs.
- `last-input` (RNNs): samples the first n - 1 inputs and integrates the last one exactly. With
  the prefix fixed, the final pre-activations are a + b x_n, so the logits are piecewise linear
  in x_n with a kink where a unit switches, and the target is piecewise constant with a break
  where x_n passes a value that decides it (`Task.last_input_breakpoints`). On each piece the
  model is right on an interval of x_n, whose Gaussian probability is a difference of normal
  CDFs. It is sampling with the last input's randomness taken out exactly, so it never has more
  variance than sampling per prefix; it wins when that lower variance outweighs its higher cost.
- `quadrature` (RNNs, n <= 4): the same exact last input, with the prefix integrated on a
  midpoint grid (one per ordering of the prefix values) instead of sampled: deterministic.
- `enumeration` (discrete inputs): runs every one of the n^n inputs; exact, cost n^n.
"""

from __future__ import annotations

import copy
import dataclasses
import itertools
import math
from pathlib import Path
from typing import Any, Callable, Protocol

import torch

from circuits_benchmark.algzoo.cpu import torch_threads
from circuits_benchmark.algzoo.models import ZooModel, load_zoo_model, zoo_dir
from circuits_benchmark.algzoo.rnn import ReluRNN
from circuits_benchmark.algzoo.scoring import evaluate_model
from circuits_benchmark.algzoo.tasks import CONTINUOUS, DISTRIBUTION, data_generator
from circuits_benchmark.errors import BenchmarkError
from circuits_benchmark.evaluation.figures import pyplot, save_png
from circuits_benchmark.storage.files import atomic_write_json


@dataclasses.dataclass(frozen=True)
class Estimate:
    """An estimated accuracy (a fraction) and what it cost, in forward-pass equivalents."""

    accuracy: float
    cost: float


class Estimator(Protocol):
    """Estimates a model's accuracy within about `budget` forward-pass equivalents."""

    name: str

    def applies_to(self, model: ZooModel) -> str | None:
        """None if the estimator can run on `model`, else why not."""

    def estimate(self, model: ZooModel, budget: float, seed: int) -> Estimate:
        """The estimate and its actual cost; `seed` drives any randomness."""


def _require_accuracy(model: ZooModel) -> str | None:
    if model.spec.task_def.output != DISTRIBUTION:
        return f"{model.spec.task} is judged by RMSE, not accuracy"
    return None


def _require_rnn(model: ZooModel) -> str | None:
    task = model.spec.task_def
    if not isinstance(model.network, ReluRNN) or task.last_input_breakpoints is None:
        return f"it needs an RNN on an accuracy task with continuous inputs, not {model.spec.name}"
    return None


class SamplingEstimator:
    """The baseline: accuracy on `budget` fresh samples (MSE p(1-p)/k)."""

    name = "sampling"

    def applies_to(self, model: ZooModel) -> str | None:
        return _require_accuracy(model)

    def estimate(self, model: ZooModel, budget: float, seed: int) -> Estimate:
        count = max(1, int(budget))
        inputs, targets = model.spec.task_def.sample(model.spec.seq_len, count, data_generator("sampling", seed))
        correct = (model.predict(inputs).argmax(dim=-1) == targets).double().mean().item()
        return Estimate(correct, float(count))


class EnumerationEstimator:
    """Exact accuracy over all n^n inputs of a discrete task (its cost ignores the budget)."""

    name = "enumeration"

    def applies_to(self, model: ZooModel) -> str | None:
        task = model.spec.task_def
        if task.inputs == CONTINUOUS:
            return "its inputs are continuous: there is nothing to enumerate"
        return _require_accuracy(model)

    def estimate(self, model: ZooModel, budget: float, seed: int) -> Estimate:
        n = model.spec.seq_len
        inputs = torch.cartesian_prod(*[torch.arange(n)] * n).reshape(-1, n)
        targets = model.spec.task_def.target(inputs)
        correct = (model.predict(inputs).argmax(dim=-1) == targets).double().mean().item()
        return Estimate(correct, float(len(inputs)))


class LastInputEstimator:
    """Sampled prefixes, the last input integrated exactly (see the module docstring)."""

    name = "last-input"

    def applies_to(self, model: ZooModel) -> str | None:
        return _require_rnn(model)

    def estimate(self, model: ZooModel, budget: float, seed: int) -> Estimate:
        n = model.spec.seq_len
        count = max(1, int(budget / _prefix_cost(model)))
        prefixes = torch.randn(count, n - 1, generator=data_generator("last-input", seed), dtype=torch.float64)
        return Estimate(conditional_accuracy(model, prefixes).mean().item(), count * _prefix_cost(model))


class QuadratureEstimator:
    """A midpoint grid over the prefix, one per ordering of its values, the last input exact.

    For rank tasks the conditional accuracy jumps where two prefix values swap order (the target
    moves, the model need not), so a plain grid over the prefix converges no faster than
    sampling. Within one ordering it is continuous and piecewise smooth. So the prefix, in
    Gaussian-CDF space u, is split into the d! orderings u_s(1) < ... < u_s(d), each reached from
    the unit cube by u_s(d) = t_1, u_s(d-1) = t_1 t_2, ..., with Jacobian t_1^(d-1) t_2^(d-2) ...,
    and a midpoint grid on the cube is weighted by that Jacobian. Deterministic; no point ties.
    """

    name = "quadrature"
    max_length = 4  # d! m^d points for d = n - 1 prefix values: beyond d = 3 the grid is too coarse

    def applies_to(self, model: ZooModel) -> str | None:
        if model.spec.seq_len > self.max_length:
            return f"its grid grows as (n-1)! m^(n-1): it runs for n <= {self.max_length}, not n = {model.spec.seq_len}"
        return _require_rnn(model)

    def estimate(self, model: ZooModel, budget: float, seed: int) -> Estimate:
        dims = model.spec.seq_len - 1
        orderings = list(itertools.permutations(range(dims)))
        per_axis = max(1, int((budget / _prefix_cost(model) / len(orderings)) ** (1 / dims) + 1e-9))
        midpoints = (torch.arange(per_axis, dtype=torch.float64) + 0.5) / per_axis
        cube = torch.cartesian_prod(*[midpoints] * dims).reshape(-1, dims)
        descending = cube.cumprod(dim=1)  # u_s(d), u_s(d-1), ..., u_s(1)
        jacobian = (cube ** torch.arange(dims - 1, -1, -1, dtype=torch.float64)).prod(dim=1)
        values = torch.special.ndtri(descending)
        prefixes = torch.cat([values[:, list(ordering)] for ordering in orderings])
        weights = jacobian.repeat(len(orderings))
        accuracy = (conditional_accuracy(model, prefixes) * weights).sum() / weights.sum()
        return Estimate(accuracy.item(), len(prefixes) * _prefix_cost(model))


ESTIMATORS: dict[str, Estimator] = {
    estimator.name: estimator
    for estimator in (SamplingEstimator(), LastInputEstimator(), QuadratureEstimator(), EnumerationEstimator())
}


def _rnn_weights(model: ZooModel) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    weights = {name: weight.double() for name, weight in model.weights().items()}
    return weights["W_ih"], weights["W_hh"], weights["W_out"]


def _forward_macs(model: ZooModel) -> int:
    """Multiply-accumulates of one RNN forward pass: n (h^2 + h) + outputs * h."""
    w_ih, _, w_out = _rnn_weights(model)
    hidden = len(w_ih)
    return model.spec.seq_len * (hidden**2 + hidden) + w_out.shape[0] * hidden


def _prefix_cost(model: ZooModel) -> float:
    """Forward-pass equivalents per prefix of `conditional_accuracy`.

    The prefix run ((n-1)(h^2+h)), the last step's offsets (h^2), and for each of the
    h + K + 1 pieces of the last input the active units (h) and the logits' offset and slope (2 C h).
    """
    w_ih, _, w_out = _rnn_weights(model)
    hidden, classes, n = len(w_ih), w_out.shape[0], model.spec.seq_len
    breakpoints = model.spec.task_def.last_input_breakpoints(torch.zeros(1, n - 1)).shape[-1]
    pieces = hidden + breakpoints + 1
    macs = (n - 1) * (hidden**2 + hidden) + hidden**2 + pieces * (hidden + 2 * classes * hidden)
    return macs / _forward_macs(model)


@torch.no_grad()
def conditional_accuracy(model: ZooModel, prefixes: torch.Tensor) -> torch.Tensor:
    """P(model right | first n - 1 inputs) [K] for prefixes [K, n-1], exact over x_n ~ N(0, 1)."""
    task = model.spec.task_def
    w_ih, w_hh, w_out = _rnn_weights(model)
    double = copy.deepcopy(model.network).double()
    state = double.final_state(prefixes.double()[None])[0]
    offset = state @ w_hh.T  # last pre-activations: offset + w_ih * x_n
    # A unit that ignores x_n never switches on it: its kink goes to +inf, leaving an empty piece.
    kinks = torch.where(w_ih == 0, torch.inf, -offset / torch.where(w_ih == 0, 1.0, w_ih))
    breaks = torch.cat([kinks, task.last_input_breakpoints(prefixes.double())], dim=1).sort(dim=1).values
    infinite = torch.full_like(breaks[:, :1], torch.inf)
    lower = torch.cat([-infinite, breaks], dim=1)
    upper = torch.cat([breaks, infinite], dim=1)
    inside = _piece_points(lower, upper)
    active = (offset[:, None, :] + w_ih * inside[..., None]) > 0
    logit_offset = (active * offset[:, None, :]) @ w_out.T  # [K, pieces, C]
    logit_slope = (active * w_ih) @ w_out.T
    sequences = torch.cat([prefixes.double()[:, None, :].expand(-1, inside.shape[1], -1), inside[..., None]], dim=-1)
    target = task.target(sequences)[..., None]
    # The target logit beats logit j where (offset gap) + (slope gap) x > 0: a half-line each.
    gap_offset = logit_offset.gather(-1, target) - logit_offset
    gap_slope = logit_slope.gather(-1, target) - logit_slope
    root = -gap_offset / torch.where(gap_slope == 0, 1.0, gap_slope)
    others = torch.ones_like(gap_slope, dtype=torch.bool).scatter(-1, target, False)
    # argmax breaks ties towards the first index, and ties are not rare: where every unit is off,
    # all logits are exactly 0 (no biases). So an earlier class that ties the target wins.
    earlier = torch.arange(gap_slope.shape[-1]) < target
    never = others & (gap_slope == 0) & ((gap_offset < 0) | ((gap_offset == 0) & earlier))
    low = torch.where(others & (gap_slope > 0), root, -torch.inf).amax(dim=-1)
    high = torch.where(others & (gap_slope < 0), root, torch.inf).amin(dim=-1)
    low, high = torch.maximum(low, lower), torch.minimum(high, upper)
    mass = (torch.special.ndtr(high) - torch.special.ndtr(low)).clamp(min=0)
    return torch.where(never.any(dim=-1), 0.0, mass).sum(dim=1)


def _piece_points(lower: torch.Tensor, upper: torch.Tensor) -> torch.Tensor:
    """A finite point inside each piece [lower, upper]; 0 for the empty pieces [inf, inf]."""
    middle = (lower + upper) / 2
    middle = torch.where(torch.isinf(lower), upper - 1.0, middle)
    middle = torch.where(torch.isinf(upper), lower + 1.0, middle)
    return torch.where(torch.isinf(lower) & torch.isinf(upper), 0.0, middle)


@dataclasses.dataclass(frozen=True)
class StudyRow:
    """One estimator at one budget: mean cost, MSE over the noisy models, sampling's MSE at that cost."""

    estimator: str
    budget: float
    cost: float
    mse: float
    sampling_mse: float

    @property
    def gain(self) -> float:
        """How many times more samples sampling needs for the same MSE (>1: the estimator wins)."""
        return self.sampling_mse / self.mse if self.mse > 0 else math.inf


@dataclasses.dataclass(frozen=True)
class NoiseStudy:
    """The weight-noise protocol's result for one model."""

    model: str
    noise: float
    true_accuracies: list[float]
    truth_samples: int
    rows: list[StudyRow]
    skipped: dict[str, str]

    @property
    def truth_floor(self) -> float:
        """The true accuracies' own sampling variance, p(1-p)/truth_samples: part of every MSE."""
        return sum(p * (1 - p) for p in self.true_accuracies) / len(self.true_accuracies) / self.truth_samples

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["truth_floor"] = self.truth_floor
        data["rows"] = [{**dataclasses.asdict(row), "gain": row.gain} for row in self.rows]
        return data


def add_weight_noise(model: ZooModel, noise: float, seed: int) -> ZooModel:
    """The model with N(0, (noise * RMS of each weight tensor)^2) added to every weight."""
    generator = data_generator("weight-noise", seed)
    noisy = {}
    for name, weight in sorted(model.weights().items()):
        scale = noise * weight.square().mean().sqrt()
        noisy[name] = weight + scale * torch.randn(weight.shape, generator=generator)
    return model.with_weights(noisy)


def noise_study(
    model: ZooModel,
    estimators: list[str],
    budgets: list[float],
    noise: float = 0.03,
    noisy_models: int = 16,
    truth_samples: int = 2**22,
    seed: int = 0,
    advance: Callable[[int], None] | None = None,
) -> NoiseStudy:
    """Runs the weight-noise protocol; `advance(1)` after each noisy model.

    Raises BenchmarkError for an unknown estimator, a bad argument, or a model no estimator fits.
    """
    unknown = [name for name in estimators if name not in ESTIMATORS]
    if unknown:
        raise BenchmarkError(f"unknown estimator {unknown[0]!r}: use {', '.join(ESTIMATORS)}")
    if noise < 0 or noisy_models < 1 or truth_samples < 1 or not budgets or min(budgets) < 1:
        raise BenchmarkError("noise must be >= 0, noisy models and truth samples >= 1, budgets >= 1")
    skipped = {name: why for name in estimators if (why := ESTIMATORS[name].applies_to(model)) is not None}
    running = [ESTIMATORS[name] for name in estimators if name not in skipped]
    if not running:
        raise BenchmarkError(f"no estimator runs on {model.spec.name}: " + "; ".join(f"{k}: {v}" for k, v in skipped.items()))
    truths: list[float] = []
    squared: dict[tuple[str, float], list[float]] = {}
    costs: dict[tuple[str, float], list[float]] = {}
    with torch_threads():
        for index in range(noisy_models):
            truths.append(_study_one(model, running, budgets, noise, truth_samples, seed * noisy_models + index, squared, costs))
            if advance is not None:
                advance(1)
    rows = []
    for (name, budget), errors in squared.items():
        cost = sum(costs[(name, budget)]) / len(errors)
        sampling = sum(p * (1 - p) for p in truths) / len(truths) / cost
        rows.append(StudyRow(name, budget, cost, sum(errors) / len(errors), sampling))
    return NoiseStudy(model.spec.name, noise, truths, truth_samples, rows, skipped)


def run_study(
    model_id: str, estimators: str, budgets: str, noise: float, noisy_models: int, truth_samples: int,
    seed: int, output_dir: Path, advance: Callable[[int], None] | None = None,
) -> tuple[NoiseStudy, tuple[Path, Path]]:
    """`eval estimation`: parses the comma-separated lists, loads the model, runs and saves the study."""
    names = [name.strip() for name in estimators.split(",") if name.strip()]
    try:
        budget_values = [float(value) for value in budgets.split(",")]
    except ValueError:
        raise BenchmarkError(f"malformed budgets {budgets!r}: use numbers separated by commas, e.g. 100,1000") from None
    model = load_zoo_model(model_id, output_dir)
    study = noise_study(model, names, budget_values, noise, noisy_models, truth_samples, seed, advance)
    return study, save_study(study, output_dir)


def _study_one(
    model: ZooModel, estimators: list[Estimator], budgets: list[float], noise: float, truth_samples: int,
    noisy_seed: int, squared: dict[tuple[str, float], list[float]], costs: dict[tuple[str, float], list[float]],
) -> float:
    """One noisy copy: its true accuracy (returned); every estimate's squared error and cost appended."""
    noisy = add_weight_noise(model, noise, noisy_seed)
    truth = evaluate_model(noisy, truth_samples, seed=noisy_seed)
    for estimator in estimators:
        for position, budget in enumerate(budgets):
            estimate = estimator.estimate(noisy, budget, seed=noisy_seed * len(budgets) + position)
            squared.setdefault((estimator.name, budget), []).append((estimate.accuracy - truth) ** 2)
            costs.setdefault((estimator.name, budget), []).append(estimate.cost)
    return truth


def save_study(study: NoiseStudy, output_dir: Path) -> tuple[Path, Path]:
    """Writes the study as JSON and a log-log plot of MSE against cost; returns both paths."""
    folder = zoo_dir(output_dir) / "estimation"
    json_path, plot_path = folder / f"{study.model}.json", folder / f"{study.model}.png"
    atomic_write_json(json_path, study.to_dict())
    _plot(study, plot_path)
    return json_path, plot_path


def _plot(study: NoiseStudy, path: Path) -> None:
    plt = pyplot()

    figure, axis = plt.subplots(figsize=(6, 4.5))
    for name in dict.fromkeys(row.estimator for row in study.rows):
        rows = sorted((r for r in study.rows if r.estimator == name), key=lambda r: r.cost)
        axis.plot([r.cost for r in rows], [max(r.mse, 1e-16) for r in rows], "o-", label=name)
    costs = sorted({row.cost for row in study.rows})
    variance = sum(p * (1 - p) for p in study.true_accuracies) / len(study.true_accuracies)
    axis.plot(costs, [variance / c for c in costs], "k--", label="sampling, p(1-p)/k")
    axis.set_xscale("log")
    axis.set_yscale("log")
    axis.set_xlabel("cost (forward-pass equivalents)")
    axis.set_ylabel("mean squared error of the accuracy estimate")
    axis.set_title(f"{study.model}, weight noise {study.noise}, {len(study.true_accuracies)} noisy models", fontsize=9)
    axis.legend(fontsize=8)
    save_png(figure, path)
