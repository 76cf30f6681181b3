"""What each destination of a pass reads: the sources produced so far, mixed by its edges' masks.

The engine appends every source's output as it is produced (the embedding, then each layer's
heads, then its MLP) and asks for the inputs of a group of destinations that read the first n
sources. `CleanSources` serves the unpatched run (every destination reads the plain sum);
`PatchedSources` serves a run with masks, where destination d reads

    sum_s m_ds * clean_s + (1 - m_ds) * ablated_s  =  sum_s m_ds * (clean_s - ablated_s) + sum_s ablated_s

The right-hand side costs one matrix product per group of destinations instead of two: the
differences are taken once per source as it is produced, and the ablated sum is accumulated as
sources arrive (every destination reads a prefix of the sources).
"""

from __future__ import annotations

import torch
from torch.autograd.function import once_differentiable


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
        """Inputs [dest, batch, pos, d_model] of the `index.shape[0]` destinations (all equal)."""
        total = self.stacked().sum(dim=0) + constant
        return total.expand(index.shape[0], -1, -1, -1)


class PatchedSources:
    """The sources of a patched run, mixed by `masks` against `ablated`.

    `masks` is [n_edges], or [groups, n_edges]: the batch's rows in `groups` consecutive blocks of
    equal size, block g mixed by masks[g]. `ablated` is [n_sources, batch or 1, pos, d_model] (1:
    the same ablated value for every row, as zero and mean ablation give).

    The differences live in one buffer of every source, filled in as sources are produced, so a
    mix multiplies a prefix of it in place instead of stacking every source again before each
    layer (quadratic copying in the number of layers). Their gradients live in a second such
    buffer, into which every mix's backward pass adds its share (see `_MixedDifferences`).
    """

    def __init__(self, masks: torch.Tensor, ablated: torch.Tensor) -> None:
        self.masks = masks
        self.ablated = ablated
        # The ablated sum over the sources so far: the prefix the next mix reads.
        self._ablated_sum: torch.Tensor | float = 0.0
        self.differences: torch.Tensor | None = None  # [n_sources + 1, batch, pos, d_model], outside autograd
        self._gradient: torch.Tensor | None = None  # the gradient with respect to `differences`
        self._count = 0
        # The differences appended since the last mix, as autograd sees them: that mix hands them
        # their gradients. Those that take none are left out: they are the earliest ones (a
        # source takes a gradient when anything upstream of it does).
        self._unmixed: list[torch.Tensor] = []

    def append(self, outputs: torch.Tensor) -> None:
        """Adds sources [batch, pos, k, d_model], keeping only their differences from the ablated values."""
        start, stop = self._count, self._count + outputs.shape[2]
        clean, ablated = outputs.permute(2, 0, 1, 3), self.ablated[start:stop]
        if self.differences is None:  # one spare row: see `mix`
            batch, n_pos, _, d_model = outputs.shape
            self.differences = outputs.new_empty(len(self.ablated) + 1, batch, n_pos, d_model)
        if torch.is_grad_enabled() and (clean.requires_grad or ablated.requires_grad):
            difference = clean - ablated
            with torch.no_grad():
                self.differences[start:stop] = difference
            self._unmixed.append(difference)
        else:  # nothing to differentiate: straight into the buffer
            torch.sub(clean, ablated, out=self.differences[start:stop])
        self._ablated_sum = self._ablated_sum + self.ablated[start:stop].sum(dim=0)
        self._count = stop

    def mix(self, index: torch.Tensor, constant: torch.Tensor) -> torch.Tensor:
        """Inputs [dest, batch, pos, d_model] of the destinations whose mask positions are `index`
        [dest, n], n being the number of sources appended so far; `constant` is added to each.

        Destination-major, the layout the product gives, so that neither the mix nor its gradient
        is copied into another layout (block masks need one copy, to put the blocks' rows back in
        batch order).
        """
        n = self._count
        _, batch, n_pos, d_model = self.differences.shape
        m = self.masks[..., index]  # [dest, n], or [groups, dest, n]
        if m.dim() == 3 and batch % m.shape[0]:
            raise ValueError(f"{batch} rows do not split into {m.shape[0]} equal blocks of one circuit each")
        base = self._ablated_sum + constant  # [batch or 1, pos, d_model]
        # The base joins the product as row n, the row the next source will take, with weight 1:
        # adding it to the product's output instead would cost another pass over [dest, ...].
        with torch.no_grad():
            self.differences[n] = base
        differentiable = [m, base, *self._unmixed]
        if torch.is_grad_enabled() and any(tensor.requires_grad for tensor in differentiable):
            kept = _MixedDifferences.apply(m, base, self, n, *self._unmixed)
        else:  # a forward-only pass (ACDC, patching) skips the autograd Function's overhead
            kept = _product_with_base(m, self.differences, n)
        self._unmixed = []
        if m.dim() == 2:  # kept: [dest, batch * pos * d_model]
            return kept.view(-1, batch, n_pos, d_model)
        groups, dest = m.shape[0], m.shape[1]  # kept: [groups, dest, rows * pos * d_model]
        kept = kept.view(groups, dest, batch // groups, n_pos, d_model).transpose(0, 1)
        return kept.reshape(dest, batch, n_pos, d_model)

    def gradient_rows(self, n: int) -> tuple[torch.Tensor, bool]:
        """The accumulated gradient of the first n differences, and whether it is fresh (to be
        overwritten, not added to): it is when a backward pass starts, at the last mix (the only
        one that reads every source)."""
        fresh = n == len(self.ablated)
        if fresh:
            self._gradient = torch.empty_like(self.differences[:n])
        return self._gradient[:n], fresh


class _MixedDifferences(torch.autograd.Function):
    """`m @ differences[:n] + base` for masks m [dest, n] or [groups, dest, n] (one block of rows
    each), with the differences of `sources` (row n holding `base` [batch or 1, pos, d_model]
    spread over the batch); `new` are the differences appended since the previous mix.

    Autograd cannot see through the buffer: a plain product would save it for the backward pass,
    and writing the next layer's rows into it would then fail autograd's version check. This
    product reads the rows it multiplied from the buffer in its backward pass (rows below n are
    never written again). Their gradient is summed in place in `sources.gradient_rows` rather than
    handed to autograd piece by piece, which would sum a [rows, batch * pos * d_model] tensor per
    row per later layer: a backward pass visits the mixes in reverse order (each mix reads the
    outputs of the layers the previous one fed), so when a mix's backward runs, every later mix has
    added its share, and the rows of `new` are complete; they are handed to autograd then.
    """

    @staticmethod
    def forward(ctx, m: torch.Tensor, base: torch.Tensor, sources: PatchedSources, n: int, *new: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(m)
        ctx.sources, ctx.n, ctx.base_shape = sources, n, base.shape
        ctx.new_sizes = [chunk.shape[0] for chunk in new]
        return _product_with_base(m, sources.differences, n)

    @staticmethod
    @once_differentiable  # its in-place sums are not themselves differentiable
    def backward(ctx, gradient: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        (m,) = ctx.saved_tensors
        sources, n = ctx.sources, ctx.n
        gradient_m = gradient_base = None
        if ctx.needs_input_grad[0]:
            gradient_m = gradient @ _blocks(sources.differences[:n], m).transpose(-1, -2)
        if ctx.needs_input_grad[1]:  # the base's gradient: summed over destinations, then over rows it was spread to
            _, batch, n_pos, d_model = sources.differences.shape
            gradient_base = gradient.sum(dim=-2).view(batch, n_pos, d_model).sum_to_size(ctx.base_shape)
        unneeded = (None for _ in ctx.new_sizes)
        if not any(ctx.needs_input_grad[4:]):
            # No difference takes a gradient: those that would are the latest ones, these among them.
            return gradient_m, gradient_base, None, None, *unneeded
        rows, fresh = sources.gradient_rows(n)
        beta = 0 if fresh else 1  # beta 0 ignores what the (uninitialised) rows held
        if m.dim() == 2:
            rows.view(n, -1).addmm_(m.T, gradient, beta=beta)
        else:
            _blocks(rows, m).baddbmm_(m.transpose(1, 2), gradient, beta=beta)
        new = rows[n - sum(ctx.new_sizes) :].split(ctx.new_sizes)
        return gradient_m, gradient_base, None, None, *new


def _product_with_base(m: torch.Tensor, differences: torch.Tensor, n: int) -> torch.Tensor:
    """`m @ differences[:n] + differences[n]` (the base row, weight 1), as one product."""
    with_base = torch.cat([m, m.new_ones(*m.shape[:-1], 1)], dim=-1)
    return with_base @ _blocks(differences[: n + 1], m)


def _blocks(differences: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
    """`differences` [n, batch, pos, d_model] as the right-hand side of `m @ ...`: [n, batch * pos *
    d_model] for masks [dest, n]; for masks [groups, dest, n], a view [groups, n, rows * pos * d_model]
    of block g's rows."""
    n = differences.shape[0]
    if m.dim() == 2:
        return differences.view(n, -1)
    return differences.view(n, m.shape[0], -1).transpose(0, 1)
