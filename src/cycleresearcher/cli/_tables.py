"""Printing rich tables that stay readable in a narrow terminal.

rich shrinks a table that is too wide by folding its widest columns mid-word, which split headers
("Accep" / "t") and numbers ("-2.5" / "000": a number over two lines can be misread). Here the
widths are chosen before printing: a numeric column (right-aligned) is never narrower than its
longest word, so a value and a header word stay whole (a cell may still break at a space, as
"100.00% (1/1)" does); a text column (left-aligned: a file, a title, a group) keeps one line per
row and is cut with an ellipsis, a path from its left so the file name stays. Only the terminal
view changes: the written .md/.csv files hold every value in full. Output that is not a terminal
(a pipe, a log file, CI) gets the table's own width instead of rich's default 80 columns, so each
row stays whole; an explicit COLUMNS is obeyed.
"""

from __future__ import annotations

import os
import re
from typing import Any

#: no wider than this, even piped: a wider table is fitted to it
MAX_PIPED_WIDTH = 400
#: a text column is cut to no fewer cells than this (then, where the room allows, MIN_TEXT or its header)
TEXT_FLOOR = 5
MIN_TEXT = 8


def print_table(console: Any, table: Any) -> None:
    """``console.print(table)`` with the widths chosen as above."""
    from rich.measure import Measurement

    if console.is_terminal or os.environ.get("COLUMNS"):
        fit_table(table, console.width)
        console.print(table)
        return
    natural = Measurement.get(console, console.options.update(width=MAX_PIPED_WIDTH), table).maximum
    width = min(max(natural, console.width), MAX_PIPED_WIDTH)
    fit_table(table, width)
    # print(width=) is capped by the console's width, so widen the console for this one table
    saved = console._width
    console.width = width
    try:
        console.print(table)
    finally:
        console._width = saved


def fit_table(table: Any, width: int) -> None:
    """Set each column's width so that ``table`` fits ``width`` cells where it can (see above)."""
    from rich.cells import cell_len

    columns = table.columns
    numeric = [c.justify == "right" for c in columns]
    headers = [_text(c.header).plain for c in columns]
    cells = [[_text(cell).plain for cell in c._cells] for c in columns]
    full = [max([cell_len(h), *map(cell_len, col)]) for h, col in zip(headers, cells, strict=True)]
    # the narrowest: a numeric column's values' longest word, a text column's TEXT_FLOOR; then
    # (``words``) a numeric header's words whole too, a text column's header and MIN_TEXT cells
    values = [_longest_word(col) if n else min(f, TEXT_FLOOR) for col, n, f in zip(cells, numeric, full, strict=True)]
    words = [
        max(v, _longest_word([h])) if n else min(f, max(MIN_TEXT, cell_len(h)))
        for v, h, n, f in zip(values, headers, numeric, full, strict=True)
    ]
    for column, is_number in zip(columns, numeric, strict=True):
        column.no_wrap = not is_number  # text: one line a row; numbers: whole words a line
        column.overflow = "ellipsis"
    if sum(full) <= _room(table, width):
        return
    if sum(words) > _room(table, width):  # the box lines alone keep cells apart: space before words
        table.padding = (0, 0)
    room = _room(table, width)
    if sum(values) > room:  # too many columns for this width: rich narrows them all, cut with "…"
        return
    # numeric headers whole before text columns widen: a word a letter a line is worse than "Resu…"
    headers_first = [w if n else v for w, v, n in zip(words, values, numeric, strict=True)]
    widths = _share(values, [headers_first, words], full, room)
    for i, (column, w) in enumerate(zip(columns, widths, strict=True)):
        column.width = w
        if numeric[i]:
            column.overflow = "fold"  # only a header word can be longer than w: fold it, do not cut it
        else:
            column._cells = [_cut(cell, w) for cell in column._cells]


def _room(table: Any, width: int) -> int:
    """The cells ``width`` leaves for the columns' content (less the box lines and padding)."""
    return width - table._extra_width - sum(table._get_padding_width(i) for i in range(len(table.columns)))


def _longest_word(texts: list[str]) -> int:
    from rich.cells import cell_len

    return max((cell_len(w) for t in texts for w in t.split()), default=1)


def _share(least: list[int], steps: list[list[int]], full: list[int], room: int) -> list[int]:
    """Widths from ``least`` up to each of ``steps`` in turn, the columns that need the least first
    (so as many as the room allows reach it), the rest of a step to the nearest; then the room
    left shared a cell at a time up to ``full``. The sum stays within ``room`` when ``least``'s is."""
    widths = list(least)
    spare = room - sum(widths)
    for step in steps:
        by_need = sorted(range(len(widths)), key=lambda i: step[i] - widths[i])
        for i in by_need:
            need = step[i] - widths[i]
            if 0 < need <= spare:
                widths[i] += need
                spare -= need
        for i in by_need:  # what is left to the nearest: fewer pieces of a header word
            more = min(max(step[i] - widths[i], 0), spare)
            widths[i] += more
            spare -= more
    while spare > 0:
        wanting = [i for i, w in enumerate(widths) if w < full[i]]
        if not wanting:
            break
        for i in wanting[:spare]:
            widths[i] += 1
        spare -= min(len(wanting), spare)
    return widths


def _text(cell: Any) -> Any:
    from rich.text import Text

    if isinstance(cell, Text):
        return cell
    return Text.from_markup(cell) if isinstance(cell, str) else Text(str(cell))


def _cut(cell: Any, width: int) -> Any:
    """A path longer than ``width`` as ``…`` and its tail (its file name is what tells rows
    apart); any other cell as it is (rich cuts its end with an ellipsis)."""
    from rich.cells import cell_len

    text = _text(cell)
    plain = text.plain
    if cell_len(plain) <= width or width < 2 or not _PATH.fullmatch(plain):
        return cell
    keep = width - 1
    while keep > 0 and cell_len(plain[-keep:]) > width - 1:  # wide characters
        keep -= 1
    return text[:0] + "…" + text[len(plain) - keep :]


#: one token holding a folder separator: a file path, a run paper (``RUN#paper/KEY``)
_PATH = re.compile(r"\S*[/\\]\S*")


__all__ = ["fit_table", "print_table"]
