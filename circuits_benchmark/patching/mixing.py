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

    The differences live in one buffer of every source, filled in as sources are produced, so a
    mix multiplies a prefix of it in place instead of stacking every source again before each
    layer (quadratic copying in the number of layers).
    """

    def __init__(self, masks: torch.Tensor, ablated: torch.Tensor) -> None:
        self.masks = masks
        self.ablated = ablated
        # Every destination reads a prefix of the sources: the ablated sum over the sources so far.
        self._ablated_sum: torch.Tensor | float = 0.0
        self._buffer: torch.Tensor | None = None  # [n_sources, batch, pos, d_model], outside autograd
        self._differences: list[torch.Tensor] = []  # the same values, as autograd sees them
        self._count = 0

    def append(self, outputs: torch.Tensor) -> None:
        """Adds sources [batch, pos, k, d_model], keeping only their differences from the ablated values."""
        start, stop = self._count, self._count + outputs.shape[2]
        difference = outputs.permute(2, 0, 1, 3) - self.ablated[start:stop]
        if self._buffer is None:
            self._buffer = difference.new_empty(len(self.ablated), *difference.shape[1:])
        with torch.no_grad():
            self._buffer[start:stop] = difference
        self._differences.append(difference)
        self._ablated_sum = self._ablated_sum + self.ablated[start:stop].sum(dim=0)
        self._count = stop

    def mix(self, index: torch.Tensor, constant: torch.Tensor) -> torch.Tensor:
        """Inputs [batch, pos, dest, d_model] of the destinations whose mask positions are `index`
        [dest, n], n being the number of sources appended so far; `constant` is added to each."""
        n = self._count
        _, batch, n_pos, d_model = self._buffer.shape
        base = (self._ablated_sum + constant).unsqueeze(2)  # [batch or 1, pos, 1, d_model]
        m = self.masks[..., index]  # [dest, n], or [groups, dest, n]
        if m.dim() == 3 and batch % m.shape[0]:
            raise ValueError(f"{batch} rows do not split into {m.shape[0]} equal blocks of one circuit each")
        kept = _MixedDifferences.apply(m, self._buffer[:n], *self._differences)
        if m.dim() == 2:  # kept: [dest, batch * pos * d_model]
            return kept.view(-1, batch, n_pos, d_model).permute(1, 2, 0, 3) + base
        groups, dest = m.shape[0], m.shape[1]  # kept: [groups, dest, rows * pos * d_model]
        kept = kept.view(groups, dest, batch // groups, n_pos, d_model).permute(0, 2, 3, 1, 4)
        return kept.reshape(batch, n_pos, dest, d_model) + base


class _MixedDifferences(torch.autograd.Function):
    """`m @ differences` for masks m [dest, n] or [groups, dest, n] (one block of rows each), where
    `differences` is a prefix of `PatchedSources`'s buffer, whose rows are `chunks` stacked.

    Autograd cannot see through the buffer: a plain product would save the buffer for its backward
    pass, and writing the next layer's rows into it would then fail autograd's version check. This
    product reads the rows it multiplied from the buffer in its backward pass (they are never
    written again) and returns their gradient to the chunks they were copied from.
    """

    @staticmethod
    def forward(ctx, m: torch.Tensor, differences: torch.Tensor, *chunks: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(m)
        ctx.differences = differences
        ctx.chunk_shapes = [chunk.shape for chunk in chunks]
        return m @ _blocks(differences, m)

    @staticmethod
    def backward(ctx, gradient: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        (m,) = ctx.saved_tensors
        blocks = _blocks(ctx.differences, m)
        gradient_m = gradient @ blocks.transpose(-1, -2) if ctx.needs_input_grad[0] else None
        if not any(ctx.needs_input_grad[2:]):
            return gradient_m, None, *(None for _ in ctx.chunk_shapes)
        gradient_blocks = m.transpose(-1, -2) @ gradient  # [n, batch * pos * d_model] or [groups, n, ...]
        if m.dim() == 3:
            gradient_blocks = gradient_blocks.transpose(0, 1)
        sizes = [shape[0] for shape in ctx.chunk_shapes]
        gradient_chunks = (
            part.reshape(shape) for part, shape in zip(gradient_blocks.split(sizes), ctx.chunk_shapes)
        )
        return gradient_m, None, *gradient_chunks


def _blocks(differences: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
    """`differences` [n, batch, pos, d_model] as the right-hand side of `m @ ...`: [n, batch * pos *
    d_model] for masks [dest, n]; for masks [groups, dest, n], a view [groups, n, rows * pos * d_model]
    of block g's rows."""
    n = differences.shape[0]
    if m.dim() == 2:
        return differences.reshape(n, -1)
    return differences.reshape(n, m.shape[0], -1).transpose(0, 1)
