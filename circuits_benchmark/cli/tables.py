"""The one way commands build a titled table: a rich table that keeps its words whole when narrowed."""

from __future__ import annotations

import copy
import dataclasses
from typing import Iterable, Sequence

from rich.console import Console, ConsoleOptions, RenderResult
from rich.measure import Measurement
from rich.table import Table


class WholeWordTable(Table):
    """A rich Table that, in a console too narrow for it, narrows its columns no further than their
    longest word. Rich's own table narrows its widest columns toward the width of the others and
    cuts whatever no longer fits, so at 80 columns `train iit`'s verdict column showed "UNFAITH…".
    When even the longest words do not fit, it falls back to rich's narrowing."""

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        bounds = [self._column_bounds(console, options, column._index) for column in self.columns]
        pad_left, pad_right = self.padding[3], self.padding[1]
        room = options.max_width - self._extra_width - (pad_left + pad_right) * len(self.columns)
        widths = narrowed_widths([low for low, _ in bounds], [high for _, high in bounds], room)
        if widths is None or widths == [high for _, high in bounds]:
            yield from super().__rich_console__(console, options)
            return
        fitted = copy.copy(self)
        fitted.columns = [dataclasses.replace(column, width=width) for column, width in zip(self.columns, widths)]
        yield from Table.__rich_console__(fitted, console, options)

    def _column_bounds(self, console: Console, options: ConsoleOptions, index: int) -> tuple[int, int]:
        """(longest word, longest line) over a column's header and cells, without padding."""
        column = self.columns[index]
        measures = [Measurement.get(console, options, cell) for cell in (column.header, *column.cells)]
        return max(m.minimum for m in measures), max(m.maximum for m in measures)


def narrowed_widths(minimums: list[int], maximums: list[int], room: int) -> list[int] | None:
    """Column widths within [minimum, maximum] that sum to at most `room`: the widest column that
    can still give narrows by one, until they fit. None when the minimums alone exceed `room`."""
    widths = list(maximums)
    while sum(widths) > room:
        narrowable = [k for k, (width, low) in enumerate(zip(widths, minimums)) if width > low]
        if not narrowable:
            return None
        widths[max(narrowable, key=lambda k: widths[k])] -= 1
    return widths


def titled_table(title: str, *columns: str, rows: Iterable[Sequence[str]] = ()) -> Table:
    """A table (`WholeWordTable`) with these columns and, optionally, rows."""
    table = WholeWordTable(title=title)
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*row)
    return table
