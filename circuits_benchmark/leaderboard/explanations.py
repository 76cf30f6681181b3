"""What the leaderboard's numbers mean, in the words both pages use."""

from __future__ import annotations

from circuits_benchmark.evaluation.statistics import BOOTSTRAP_DRAWS, EXACT_SIGN_FLIPS, PERMUTATION_DRAWS, PairedComparison
from circuits_benchmark.formatting import format_p_value

METRIC_TITLES = {"edge_auroc": "Edge AUROC (q/k/v)", "component_edge_auroc": "Component edge AUROC", "node_auroc": "Node AUROC"}
EXPLANATION = (
    "AUROC: area under the ROC curve of the discovered circuits against the ground truth of the ablation. "
    "Edge AUROC, the primary number, is over q/k/v edges, the granularity the ground truth is stored at. Two "
    "second views: component edges (an edge into a head stands for its q, k and v edges; a ranking scores it "
    "with their mean) and nodes (heads and MLPs; a ranking scores a node with the mean score of its edges). "
    "Means, not maxima: the maximum of three scores favours heads, and a random ranking's expected AUROC is 0.5 "
    "at every level with the mean. For ACDC, subnetwork probing and edge pruning the curve runs "
    "through the circuits of their sweep (a component edge or node kept when any of its q/k/v edges is), "
    "for score methods through the score ranking. Ranking: per section, methods are ranked only over the models every built-in method ran on "
    "(listed under each ranking), by mean edge AUROC; equal means share a rank; methods that ran on fewer models "
    "are listed apart, unranked. Every method runs on several data seeds (independent draws of its inputs; "
    "a stochastic method's own randomness comes from the seed too): a model's value is the mean over seeds, ± the spread "
    "(standard deviation) across seeds. Brackets: 95% bootstrap interval of the mean over models, resampling models and "
    f"each model's seeds ({BOOTSTRAP_DRAWS} resamples). "
    "CPR (higher is better) and CMD (lower is better): MIB faithfulness of the scores at the method's default "
    "setting, with MIB's task metric (logit difference of the clean and corrupted answers; for numerical outputs, "
    "the projection on the clean-minus-corrupted output), on held-out pairs no method saw; tied edges enter the "
    "top-k together (interpolated). Cost: median seconds per model on the machine that ran it (a sweep's points summed); for a "
    "submission, the seconds it reported, else n/a; and the median passes per model, in forward-pass "
    "equivalents counted by the patching engine (input rows run forward, a backward pass counting two), which "
    "no machine changes. At equal cost: per budget, the methods whose median passes per model fit in it. Pairwise tables, on the models both methods ran on: the "
    "row method's paired win rate against the column method (share of models where the row scores higher, "
    "ties half; 0.5: no difference) and the two-sided p-value of a paired permutation test of the mean "
    f"difference, exact up to {EXACT_SIGN_FLIPS} non-zero differences, else from {PERMUTATION_DRAWS:,} random sign flips "
    "as (b + 1) / (N + 1), shown as p<= its floor when no flip was as extreme; every p-value shown is Holm-corrected "
    "across the pairs of methods of its table."
)


def comparison_text(comparison: PairedComparison) -> str:
    """A pairwise cell: the row method's win rate and the Holm-corrected p-value ("p<=" a bound
    where the uncorrected p was the sampling floor)."""
    p_value = comparison.adjusted_p_value if comparison.adjusted_p_value is not None else comparison.p_value
    shown = format_p_value(p_value)
    return f"{comparison.win_rate:.2f} ({shown.replace('p=', 'p<=') if comparison.at_floor else shown})"
