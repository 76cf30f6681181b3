"""What each destination of a pass reads: the sources produced so far, mixed by its edges' masks.

The engine appends every source's output as it is produced (the embedding, then each layer's
heads, then its MLP) and asks for the inputs of a group of destinations that read the first n
sources. `CleanSources` serves the unpatched run (every destination reads the plain sum);
`PatchedSources` serves a run with masks, where destination d reads

    sum_s m_ds * clean_s + (1 - m_ds) * ablated_s  =  sum_s m_ds * (clean_s - ablated_s) + sum_s ablated_s

The right-hand side costs one matrix product per group instead of two: the differences are taken
once per source as it is produced, and the ablated sum over every prefix of sources once per pass.
"""

from __future__ import annotations

import torch


class CleanSources:
    """The sources of an unpatched run, kept for the caller: `stacked()` is [n, batch, pos, d_model]."""

    def __init__(self) -> None:
        self._outputs: list[torch.Tensor] = []
        self._stacked: torch.Tensor | None = None  # the stack of `_outputs`, made once per append

    def append(self, outputs: torch.Tensor) -> None:
        """Adds sources [batch, pos, k, d_model] (k heads, or 1 for the embedding or an MLP)."""
        self._outputs.extend(outputs.unbind(dim=2))
        self._stacked = None

    def stacked(self) -> torch.Tensor:
        if self._stacked is None:
            self._stacked = torch.stack(self._outputs)
        return self._stacked

    def mix(self, index: torch.Tensor, constant: torch.Tensor) -> torch.Tensor:
        """Inputs [batch, pos, dest, d_model] of the `index.shape[0]` destinations (all equal)."""
        total = self.stacked().sum(dim=0) + constant
        return total.unsqueeze(2).expand(-1, -1, index.shape[0], -1)


class PatchedSources:
    """The sources of a patched run, mixed by `masks` against `ablated`.

    `masks` is [n_edges], or [groups, n_edges]: the batch's rows in `groups` consecutive blocks of
    equal size, block g mixed by masks[g]. `ablated` is [n_sources, batch or 1, pos, d_model] (1:
    the same ablated value for every row, as zero and mean ablation give).
    """

    def __init__(self, masks: torch.Tensor, ablated: torch.Tensor) -> None:
        self.masks = masks
        self.ablated = ablated
        # Every destination reads a prefix of the sources; one cumulative sum serves them all.
        self._ablated_prefix_sums = ablated.cumsum(dim=0)
        self._differences: list[torch.Tensor] = []
        self._stacked: torch.Tensor | None = None

    def append(self, outputs: torch.Tensor) -> None:
        """Adds sources [batch, pos, k, d_model], keeping only their differences from the ablated values."""
        start = len(self._differences)
        ablated = self.ablated[start : start + outputs.shape[2]].permute(1, 2, 0, 3)
        self._differences.extend((outputs - ablated).unbind(dim=2))
        self._stacked = None

    def mix(self, index: torch.Tensor, constant: torch.Tensor) -> torch.Tensor:
        """Inputs [batch, pos, dest, d_model] of the destinations whose mask positions are `index`
        [dest, n], n being the number of sources appended so far; `constant` is added to each."""
        if self._stacked is None:
            self._stacked = torch.stack(self._differences)
        differences = self._stacked
        n, batch, n_pos, d_model = differences.shape
        base = (self._ablated_prefix_sums[n - 1] + constant).unsqueeze(2)  # [batch or 1, pos, 1, d_model]
        m = self.masks[..., index]  # [dest, n], or [groups, dest, n]
        if m.dim() == 2:
            kept = (m @ differences.view(n, -1)).view(-1, batch, n_pos, d_model)
            return kept.permute(1, 2, 0, 3) + base
        groups, dest = m.shape[0], m.shape[1]
        if batch % groups:
            raise ValueError(f"{batch} rows do not split into {groups} equal blocks of one circuit each")
        rows = batch // groups
        blocks = differences.view(n, groups, -1).transpose(0, 1)  # [groups, n, rows * pos * d_model]
        kept = (m @ blocks).view(groups, dest, rows, n_pos, d_model).permute(0, 2, 3, 1, 4)
        return kept.reshape(batch, n_pos, dest, d_model) + base
