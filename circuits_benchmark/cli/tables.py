"""The one way commands build a titled table."""

from __future__ import annotations

from typing import Iterable, Sequence

from rich.table import Table


def titled_table(title: str, *columns: str, rows: Iterable[Sequence[str]] = ()) -> Table:
    """A rich table with these columns and, optionally, rows."""
    table = Table(title=title)
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*row)
    return table
