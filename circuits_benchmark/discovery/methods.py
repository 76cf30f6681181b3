"""The registry of discovery methods: one record per method.

Every method is a function `(DiscoveryProblem, MethodSettings) -> MethodOutput`; adding a method
means writing that function and adding one record here: `run`, `bench` (its plan and sweeps), the
leaderboard and the CLI's commands and help are derived from the records. Records name their functions as
"module:function" and import them on first use, so listing methods (e.g. for `--help`) loads no
torch.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

from circuits_benchmark.discovery.settings import ACDC_SWEEP, EDGE_PRUNING_SWEEP, SP_SWEEP
from circuits_benchmark.lazy_import import resolve

if TYPE_CHECKING:
    from circuits_benchmark.discovery.problem import DiscoveryProblem, MethodOutput
    from circuits_benchmark.discovery.settings import MethodSettings

    MethodFunction = Callable[[DiscoveryProblem, MethodSettings], MethodOutput]


@dataclasses.dataclass(frozen=True)
class Sweep:
    """The setting a threshold method's ROC sweep varies, and its grid (the default value joins it)."""

    parameter: str
    grid: tuple[float, ...]

    def values(self, default: float) -> list[float]:
        """The sweep's points, largest first: the grid and the default setting."""
        return sorted({*self.grid, default}, reverse=True)


@dataclasses.dataclass(frozen=True)
class Method:
    """A registered method: everything the registry, `run`, `bench` and the leaderboard need.

    run: "module:function" of the single run (or, for a user's method, the function itself).
    description: the CLI's help line. uses: the
    MethodSettings fields that change its result (they name its result folder). sweep and
    sweep_run: for threshold methods, what the ROC sweep varies and "module:function" of the sweep
    run in one process (score methods have neither: their ROC comes from their ranking).
    variants: further leaderboard entries of the method, label -> settings that differ from the
    defaults (subnetwork probing on edges, InterpBench's `sp --edgewise`). stochastic: it draws
    randomness of its own from the seed (`DiscoveryProblem.method_seed`), besides the data every
    method draws from it (the bench runs every method on several data seeds). batch_run:
    "module:function" of `(problems, settings) -> outputs`, many single runs on one model computed
    together as one tensor program (the bench runs a variant's sweep points and seeds on a model in
    one call); None: one run at a time.
    """

    run: "str | MethodFunction"
    description: str
    uses: tuple[str, ...] = ()
    sweep: Sweep | None = None
    sweep_run: str | None = None
    variants: Mapping[str, Mapping[str, Any]] = dataclasses.field(default_factory=dict)
    stochastic: bool = False
    batch_run: str | None = None

    def function(self, sweep: bool = False) -> "MethodFunction":
        """The callable to run: the sweep when asked for and available, else the single run."""
        return resolve(self.sweep_run if sweep and self.sweep_run else self.run, "circuits_benchmark.discovery")

    def runs_function(self) -> "Callable[[Sequence[DiscoveryProblem], Sequence[MethodSettings]], list[MethodOutput]]":
        """Many single runs on one model: `batch_run` where the method has one, else one run after another."""
        if self.batch_run:
            return resolve(self.batch_run, "circuits_benchmark.discovery")
        single = self.function()
        return lambda problems, settings: [single(problem, each) for problem, each in zip(problems, settings)]


METHODS: dict[str, Method] = {
    "acdc": Method(
        "acdc:acdc", "ACDC: greedy edge pruning by metric change (tau = --threshold)", ("threshold",),
        Sweep("threshold", ACDC_SWEEP), "acdc:acdc_sweep",
    ),
    "sp": Method(
        "subnetwork_probing:subnetwork_probing",
        "subnetwork probing, hard-concrete node (or --edgewise edge) masks",
        ("lambda_reg", "edgewise", "epochs", "learning_rate"),
        Sweep("lambda_reg", SP_SWEEP), "subnetwork_probing:subnetwork_probing_sweep",
        variants={"sp-edge": {"edgewise": True}}, stochastic=True, batch_run="subnetwork_probing:subnetwork_probing_runs",
    ),
    "eap": Method(
        "attribution:edge_attribution_patching",
        "edge attribution patching (EAP-IG with --integrated-grad-steps N)", ("integrated_grad_steps",),
    ),
    "eap-ig": Method(
        "attribution:edge_attribution_patching_ig",
        "EAP-IG: gradients integrated over mask interpolation (5 steps unless set)", ("integrated_grad_steps",),
    ),
    "edge-pruning": Method(
        "edge_pruning:edge_pruning", "edge pruning: hard-concrete edge masks trained to a target --sparsity",
        ("sparsity", "epochs", "learning_rate"), Sweep("sparsity", EDGE_PRUNING_SWEEP), "edge_pruning:edge_pruning_sweep",
        stochastic=True, batch_run="edge_pruning:edge_pruning_runs",
    ),
    "ugs": Method(
        "uniform_gradient_sampling:uniform_gradient_sampling",
        "uniform gradient sampling (MIB): minus the distance's gradient averaged over --samples uniform masks",
        ("samples",), stochastic=True,
    ),
    "patching": Method("activation_patching:activation_patching", "exact activation patching, one forward pass per edge"),
    "random": Method("baselines:random_scores", "baseline: random scores", stochastic=True),
    "magnitude": Method("baselines:activation_magnitude", "baseline: size of the activation change an edge carries"),
}


# The labels of the built-in methods and their variants, which user methods cannot take.
BUILT_IN_LABELS = frozenset(name for method_name, method in METHODS.items() for name in (method_name, *method.variants))


def register_method(
    name: str, function: "MethodFunction", description: str = "", uses: tuple[str, ...] = (), stochastic: bool = False
) -> None:
    """Adds a user's method: `function(problem, settings) -> MethodOutput`, a score method (its ROC
    comes from its ranking). `uses`: the MethodSettings fields that change its result; stochastic:
    it draws from `problem.method_seed`, so the bench runs it with several seeds. It then has its
    own `run` command (with `--plugin`), runs in `bench` and is ranked on the leaderboard.
    Raises BenchmarkError for a name taken by a built-in method or variant."""
    from circuits_benchmark.errors import BenchmarkError

    if name in BUILT_IN_LABELS:
        raise BenchmarkError(f"method name {name!r} is a built-in method's: pick another")
    METHODS[name] = Method(function, description or f"user method {name}", tuple(uses), stochastic=stochastic)


def variant_label(method: str, settings: "MethodSettings") -> str:
    """A run's name in tables: the variant whose settings it has (`sp` with edgewise: `sp-edge`),
    else the method's."""
    for label, (name, overrides) in method_variants().items():
        if name == method and overrides and all(getattr(settings, key) == value for key, value in overrides.items()):
            return label
    return method


def method_variants() -> dict[str, tuple[str, Mapping[str, Any]]]:
    """What the leaderboard compares: label -> (registry method, settings that differ from the
    defaults); every method at its defaults, then its variants."""
    variants: dict[str, tuple[str, Mapping[str, Any]]] = {}
    for name, method in METHODS.items():
        variants[name] = (name, {})
        variants.update({label: (name, overrides) for label, overrides in method.variants.items()})
    return variants
