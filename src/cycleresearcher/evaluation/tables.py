"""One table shape for every evaluation result, rendered three ways: a rich table (terminal),
Markdown (reports) and CSV (spreadsheets / pandas).

Display cells are formatted (percentages, two decimals, ``undefined`` for NaN); CSV cells keep the
numbers at full precision, with an empty cell for an undefined value and extra ``_ci_low`` /
``_ci_high`` columns when a bootstrap interval was computed.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ..atomic import write_text

Kind = Literal["str", "int", "num", "pct"]
UNDEFINED = "undefined"


@dataclass(frozen=True)
class Column:
    key: str  # CSV header and row key
    header: str  # display header
    kind: Kind = "num"
    digits: int = 2


@dataclass
class ResultTable:
    title: str
    columns: list[Column]
    rows: list[dict[str, Any]]
    #: sentences printed under the table: the rules used (accept rule, tie rule, averaging, ...)
    notes: list[str] = field(default_factory=list)

    # -- cells ------------------------------------------------------------------------------
    def display(self, row: dict[str, Any], col: Column) -> str:
        value = row.get(col.key)
        text = _fmt(value, col)
        ci = row.get(f"{col.key}_ci")
        if ci is not None and text not in ("", UNDEFINED):
            text += f" [{_fmt(ci[0], col)}, {_fmt(ci[1], col)}]"
        extra = row.get(f"{col.key}_detail")
        if extra:
            text += f" ({extra})"
        return text

    def csv_header(self) -> list[str]:
        header = []
        for col in self.columns:
            header.append(col.key)
            if any(row.get(f"{col.key}_ci") is not None for row in self.rows):
                header += [f"{col.key}_ci_low", f"{col.key}_ci_high"]
        return header

    def values(self) -> list[dict[str, Any]]:
        """Each row by the CSV's columns, at full precision (the intervals split in low / high)."""
        header = self.csv_header()
        out = []
        for row in self.rows:
            flat = dict(row)
            for col in self.columns:
                ci = row.get(f"{col.key}_ci")
                if ci is not None:
                    flat[f"{col.key}_ci_low"], flat[f"{col.key}_ci_high"] = ci
            out.append({key: flat.get(key) for key in header})
        return out

    def csv_rows(self) -> list[list[Any]]:
        return [[_csv_value(v) for v in row.values()] for row in self.values()]

    # -- renderings -------------------------------------------------------------------------
    def to_rich(self):
        from rich.markup import escape
        from rich.table import Table

        # escape: "[low, high]" intervals and file names must not be read as rich markup
        caption = escape("\n".join(self.notes)) or None
        table = Table(title=escape(self.title), caption=caption, caption_justify="left")
        for col in self.columns:
            table.add_column(escape(col.header), justify="left" if col.kind == "str" else "right")
        for row in self.rows:
            table.add_row(*(escape(self.display(row, col)) for col in self.columns))
        return table

    def to_markdown(self) -> str:
        lines = [f"## {self.title}", ""]
        lines.append("| " + " | ".join(c.header for c in self.columns) + " |")
        lines.append("|" + "|".join(":---" if c.kind == "str" else "---:" for c in self.columns) + "|")
        for row in self.rows:
            cells = [self.display(row, c).replace("|", "\\|") for c in self.columns]
            lines.append("| " + " | ".join(cells) + " |")
        if self.notes:
            lines.append("")
            lines += [f"- {note}" for note in self.notes]
        return "\n".join(lines) + "\n"

    def to_csv(self) -> str:
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(self.csv_header())
        writer.writerows(self.csv_rows())
        return buf.getvalue()

    def to_dict(self) -> dict[str, Any]:
        """The table as JSON (the web API): rows keyed like the CSV (numbers as numbers, rounded like
        the CSV; an undefined value is null), the cells as the terminal shows them, the notes."""
        return {
            "title": self.title,
            "columns": [{"key": c.key, "header": c.header, "kind": c.kind} for c in self.columns],
            "rows": [{k: _json_value(v) for k, v in row.items()} for row in self.values()],
            "cells": [[self.display(row, c) for c in self.columns] for row in self.rows],
            "notes": list(self.notes),
        }

    def write(self, out_dir: str | Path, stem: str) -> list[Path]:
        """Write ``<stem>.md`` and ``<stem>.csv`` into ``out_dir``; returns the paths."""
        folder = Path(out_dir)
        folder.mkdir(parents=True, exist_ok=True)
        md, cs = folder / f"{stem}.md", folder / f"{stem}.csv"
        write_text(md, self.to_markdown())
        write_text(cs, self.to_csv())
        return [md, cs]


def write_markdown(tables: Sequence[ResultTable], path: str | Path) -> Path:
    """Several tables in one Markdown file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text(path, "\n".join(t.to_markdown() for t in tables))
    return path


def is_undefined(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _fmt(value: Any, col: Column) -> str:
    if col.kind == "str":
        return "" if value is None else str(value)
    if isinstance(value, str):  # a blank cell (not applicable) or preformatted text
        return value
    if is_undefined(value):
        return UNDEFINED
    if col.kind == "int":
        return str(int(value))
    if col.kind == "pct":
        return f"{100 * float(value):.{col.digits}f}%"
    return f"{float(value):.{col.digits}f}"


def _json_value(value: Any) -> Any:
    if is_undefined(value):
        return None
    return round(value, 6) if isinstance(value, float) else value


def _csv_value(value: Any) -> Any:
    if is_undefined(value):
        return ""
    if isinstance(value, float):
        return repr(round(value, 6))
    return value
