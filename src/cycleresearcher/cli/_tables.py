"""Printing rich tables so that no cell is cut: columns fold long text onto more lines, and
output that is not a terminal (a pipe, a log file, CI) gets the table's own width instead of
rich's default 80 columns, so each row stays whole. An explicit COLUMNS is obeyed (folded)."""

from __future__ import annotations

import os
from typing import Any

#: no wider than this, even piped: a row this long is folded, not cut
MAX_PIPED_WIDTH = 400


def print_table(console: Any, table: Any) -> None:
    """``console.print(table)`` with every column folding (never cropping) its cells."""
    from rich.measure import Measurement

    for column in table.columns:
        column.overflow = "fold"
        column.no_wrap = False
    if console.is_terminal or os.environ.get("COLUMNS"):
        console.print(table)
        return
    natural = Measurement.get(console, console.options.update(width=MAX_PIPED_WIDTH), table).maximum
    # print(width=) is capped by the console's width, so widen the console for this one table
    saved = console._width
    console.width = min(max(natural, console.width), MAX_PIPED_WIDTH)
    try:
        console.print(table)
    finally:
        console._width = saved


__all__ = ["print_table"]
