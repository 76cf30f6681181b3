"""What the leaderboard's numbers mean, in the words both pages use."""

from __future__ import annotations

from circuits_benchmark.evaluation.statistics import BOOTSTRAP_DRAWS, EXACT_SIGN_FLIPS

METRIC_TITLES = {"edge_auroc": "Edge AUROC", "node_auroc": "Node AUROC"}
EXPLANATION = (
    "AUROC: area under the ROC curve of the discovered circuits against the ground truth of the ablation, "
    "over edges and over nodes (heads and MLPs); for ACDC, subnetwork probing and edge pruning the curve runs "
    "through the circuits of their sweep, for score methods through the score ranking. A random ranking scores 0.5 "
    "in expectation. Ranking: per section, methods are ranked only over the models every built-in method ran on "
    "(listed under each ranking), by mean edge AUROC; equal means share a rank; methods that ran on fewer models "
    "are listed apart, unranked. Brackets: 95% bootstrap interval of the mean over models "
    f"({BOOTSTRAP_DRAWS} resamples). Stochastic methods (random, subnetwork probing, edge pruning, UGS) run with several seeds: "
    "a model's value is the mean over seeds, ± the spread (standard deviation) across seeds. "
    "CPR (higher is better) and CMD (lower is better): MIB faithfulness of the scores at the method's default "
    "setting. Cost: median seconds per model on the machine that ran it (a sweep's points summed); for a "
    "submission, the seconds it reported, else n/a; and the median passes per model, in forward-pass "
    "equivalents counted by the patching engine (input rows run forward, a backward pass counting two), which "
    "no machine changes. At equal cost: per budget, the methods whose median passes per model fit in it. Pairwise tables, on the models both methods ran on: the "
    "row method's paired win rate against the column method (share of models where the row scores higher, "
    "ties half; 0.5: no difference) and the two-sided p-value of a paired permutation test of the mean "
    f"difference (exact up to {EXACT_SIGN_FLIPS} non-zero differences, else 20,000 random sign flips)."
)
