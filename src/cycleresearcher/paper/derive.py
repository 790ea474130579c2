"""Numbers derived from the supplied results by one step, for grounding.

A results text quotes more than the table's cells: the gain of a method over a baseline
(85.70 - 84.31 = 1.39), a relative change (+11.3%), a ratio (2.4x), the mean of a row or a
column, the gain on a metric averaged over its columns (EM (Dev), EM (Test): mean(31.96, 32.26)
- mean(28.19, 29.51) = 3.26). Pairs are taken within one table column only (a method against
another on the same metric), one of them the column's best, worst, first or last (the method and
the baseline compared), so that few numbers are explained by chance; the closest derivation
within the rounding the number shows is returned with the arithmetic written out, to be checked.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

from .results import ResultItem

# The same number syntax as grounding (kept here: grounding imports this module).
_NUMBER = re.compile(r"(?<![\w.])[-−]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|(?<![\w.])[-−]?\.\d+")
_LEADING = re.compile(r"^\s*[-−]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?")
_PERCENT = re.compile(r"\s*(?:\\?%|\$?\\%|percent)")
_TIMES = re.compile(r"\s*(?:\$?\s*\\times|×|x\b|times\b|-?fold\b)")
#: at most this many distinct numbers of one column take part in pairs
MAX_PAIRED = 200


@dataclass(frozen=True)
class Derivation:
    """How a number follows from the supplied results, e.g. ``32.11 - 28.85 = 3.26``."""

    kind: str  # difference | relative change | ratio | row mean | column mean
    text: str

    def to_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "text": self.text}


def _value(token: str) -> float:
    return float(token.replace("−", "-").replace(",", ""))


class Derivations:
    """Every one-step derivation of the supplied results, sorted by value for a quick search."""

    def __init__(self, items: list[ResultItem]) -> None:
        found: list[tuple[float, str, str]] = []
        for item in items:
            found += _pairs(item)
            found += _means(item)
        found.sort(key=lambda x: x[0])
        self._values = [v for v, _, _ in found]
        self._found = found

    def explain(self, value: float, decimals: int, shown: str, after: str = "") -> Derivation | None:
        """The closest derivation equal to ``|value|`` within the rounding ``decimals`` shows. What
        follows the number (``after``) says which kinds may explain it: a ratio only a number
        written as one (``2.4 times``, ``2.4$\\times$``), a relative change only a percentage."""
        allowed = {"difference", "row mean", "column mean"}
        if _PERCENT.match(after):
            allowed.add("relative change")
        if _TIMES.match(after):
            allowed.add("ratio")
        tol = 0.5 * 10 ** (-decimals) + 1e-7  # a half-way case (14.875 shown as 14.88) is within
        target = abs(value)
        lo = bisect.bisect_left(self._values, target - tol)
        hi = bisect.bisect_right(self._values, target + tol)
        if lo >= hi:
            return None
        # the closest first: two derivations in the window, the exact one explains it
        window = [x for x in self._found[lo:hi] if x[1] in allowed]
        if not window:
            return None
        _, kind, text = min(window, key=lambda x: abs(x[0] - target))
        return Derivation(kind, f"{text} = {shown}")


def _columns(item: ResultItem) -> list[tuple[str, list[tuple[float, str]]]]:
    """The table's numeric columns as (name, [(value, token) per row]), and for a metric measured
    in several columns (``EM (Dev)``, ``EM (Test)``) the per-row mean of those columns, which a
    text quotes as "on average"."""
    if item.table is None:
        return []
    header, rows = item.table.header, item.table.rows
    cols: list[tuple[str, list[tuple[float, str]]]] = []
    cells: dict[int, list[tuple[float, str] | None]] = {}
    for j in range(1, len(header)):
        cells[j] = [
            (_value(m.group().strip()), m.group().strip())
            if j < len(r) and (m := _LEADING.match(r[j]))
            else None
            for r in rows
        ]
        cols.append((header[j].strip(), [c for c in cells[j] if c]))
    groups: dict[str, list[int]] = {}
    for j in cells:
        metric = _METRIC.sub("", header[j]).strip().lower()
        if metric:
            groups.setdefault(metric, []).append(j)
    for metric, js in groups.items():
        if len(js) < 2:
            continue
        means = []
        for i in range(len(rows)):
            values = [cells[j][i] for j in js]
            if all(values):
                tokens = [t for _, t in values]  # type: ignore[misc]
                mean = sum(v for v, _ in values) / len(values)  # type: ignore[misc]
                means.append((mean, f"mean({', '.join(tokens)})"))
        cols.append((f"{metric} (mean of {len(js)} columns)", means))
    return cols


#: a header's qualifier in parentheses or after a slash: "EM (Dev)" and "EM (Test)" are one metric
_METRIC = re.compile(r"\([^()]*\)|\[[^\[\]]*\]|\s[/@-]\s*\S+$")


def _pairs(item: ResultItem) -> list[tuple[float, str, str]]:
    """Differences, relative changes (as a fraction and in percent) and ratios of two numbers of
    one column, one of them the column's best or worst or its first or last row (the method and
    the baseline a text compares): pairs of any two cells, or across columns, would explain
    almost any number by chance."""
    out: list[tuple[float, str, str]] = []
    for _, column in _columns(item):
        cells = [(abs(v), t.lstrip("-−")) for v, t in column][:MAX_PAIRED]
        if len(cells) < 2:
            continue
        anchors = {min(cells), max(cells), cells[0], cells[-1]}
        pairs = {tuple(sorted((a, c), reverse=True)) for a in anchors for c in cells if c[0] != a[0]}
        for (a, ta), (b, tb) in sorted(pairs):  # a > b
            out.append((a - b, "difference", f"{ta} - {tb}"))
            if b:
                out.append(((a - b) / b * 100, "relative change", f"({ta} - {tb}) / {tb} x 100"))
                out.append(((a - b) / a * 100, "relative change", f"({ta} - {tb}) / {ta} x 100"))
                out.append((a / b, "ratio", f"{ta} / {tb}"))
                out.append((b / a * 100, "relative change", f"{tb} / {ta} x 100"))
    return out


def _means(item: ResultItem) -> list[tuple[float, str, str]]:
    """The mean of each row's numbers, of each column's, and of a metric's columns in a row."""
    if item.table is None:
        return []
    out: list[tuple[float, str, str]] = []
    for row in item.table.rows:
        tokens = [m.group().strip() for c in row[1:] if (m := _LEADING.match(c))]
        if len(tokens) >= 2:
            mean = sum(_value(t) for t in tokens) / len(tokens)
            out.append((abs(mean), "row mean", f"mean of row '{row[0].strip()[:40]}' ({', '.join(tokens)})"))
    for name, column in _columns(item):
        if len(column) >= 2 and not name.endswith("columns)"):
            mean = sum(v for v, _ in column) / len(column)
            tokens = ", ".join(t for _, t in column)
            out.append((abs(mean), "column mean", f"mean of column '{name[:40]}' ({tokens})"))
        elif name.endswith("columns)"):
            out += [(abs(v), "row mean", t) for v, t in column]
    return out


__all__ = ["Derivation", "Derivations"]
