"""What the leaderboard's numbers mean, in the words both pages use."""

from __future__ import annotations

METRIC_TITLES = {"edge_auroc": "Edge AUROC", "node_auroc": "Node AUROC"}
EXPLANATION = (
    "AUROC: area under the ROC curve of the discovered circuits against the ground truth of the ablation, "
    "over edges and over nodes (heads and MLPs); for ACDC and subnetwork probing the curve runs through the "
    "circuits of the threshold sweep, for score methods through the score ranking. "
    "CPR (higher is better) and CMD (lower is better): MIB faithfulness of the scores at the method's default "
    "setting. Pairwise tables: Vargha-Delaney A12 of the row method against the column method across cases "
    "(0.5: no difference, above: the row scores higher) with the two-sided Wilcoxon-Mann-Whitney p-value."
)
