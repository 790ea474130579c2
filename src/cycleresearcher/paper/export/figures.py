"""Figures of result tables (the paper stage's only matplotlib import, with the Agg backend).

One figure per table that has numeric columns: a line chart when the first column is numeric and
increasing (a sweep: horizon, size, epochs), otherwise grouped bars (one group per row, e.g. a
method comparison). At most ``MAX_SERIES`` numeric columns are drawn; the caption says so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ..results import ResultItem

MAX_SERIES = 6
MAX_GROUPS = 24
_LEADING = re.compile(r"^\s*[-+−]?(?:\d+(?:,\d{3})*(?:\.\d+)?|\.\d+)")


@dataclass
class ResultFigure:
    item: int  # ResultItem.index
    path: Path
    kind: str  # "bar" | "line"
    caption: str  # plain text; the exports escape it
    label: str  # LaTeX label, fig:results-N


def number(cell: str) -> float | None:
    """The number a cell starts with ("0.359 ± 0.006" -> 0.359, "12.53 M" -> 12.53), or None."""
    m = _LEADING.match(cell)
    return float(m.group().replace("−", "-").replace(",", "")) if m else None


def numeric_columns(header: list[str], rows: list[list[str]]) -> list[int]:
    """Columns whose body cells are mostly numbers (at least two, and 60% of the non-empty ones)."""
    cols = []
    for j in range(len(header)):
        cells = [r[j].strip() for r in rows if r[j].strip()]
        values = [v for v in (number(c) for c in cells) if v is not None]
        if len(values) >= 2 and len(values) >= 0.6 * len(cells):
            cols.append(j)
    return cols


def plain(text: str) -> str:
    """Cell text without LaTeX markup, for matplotlib (which would read $...$ as math)."""
    text = text.replace("\\pm", "±").replace("\\times", "×")
    text = re.sub(r"\\[A-Za-z]+\s*\{([^{}]*)\}", r"\1", text)
    text = re.sub(r"\\([%&_#$])", r"\1", text)
    return re.sub(r"\\[A-Za-z]+", "", text).replace("$", "").strip()


def plan(item: ResultItem) -> tuple[str, int | None, list[int]] | None:
    """(kind, x column or None, series columns) for a table worth plotting, or None."""
    if item.table is None or len(item.table.rows) < 2:
        return None
    header, rows = item.table.header, item.table.rows
    cols = numeric_columns(header, rows)
    if 0 in cols and len(cols) >= 2:
        xs = [number(r[0]) for r in rows]
        if all(x is not None for x in xs) and all(a < b for a, b in zip(xs, xs[1:], strict=False)):
            return "line", 0, [c for c in cols if c != 0][:MAX_SERIES]
    keys = key_columns(header, rows, cols)
    series = [c for c in cols if c >= keys]
    if not series or len(rows) > MAX_GROUPS:
        return None
    return "bar", None, series[:MAX_SERIES]


def key_columns(header: list[str], rows: list[list[str]], numeric: list[int]) -> int:
    """How many leading columns name a row rather than hold results: the first one, and after it
    text columns or numbers that repeat down the column (a setting such as a horizon: ETTh1 / 96)."""
    n = 1
    while n < len(header) - 1:
        values = [v for r in rows if (v := number(r[n])) is not None]
        if n in numeric and len(set(values)) == len(values):
            break
        n += 1
    return n


def _row_label(row: list[str], keys: int) -> str:
    """The row's name in full, wrapped onto lines of about 16 characters (never cut)."""
    import textwrap

    return "\n".join(textwrap.wrap(" ".join(plain(c) for c in row[:keys] if c.strip()), 16)) or " "


#: what a column measures, by the words of its header or the unit its cells carry: two
#: quantities never share an axis (an accuracy in % and a memory in GB)
_QUANTITIES = [
    ("memory", re.compile(r"(?i)\b(?:memory|mem\.?|vram|ram|[kmgt]i?b)\b")),
    (
        "time",
        re.compile(
            r"(?i)\b(?:time|latency|runtime|seconds?|secs?|ms|hours?|hrs?|minutes?|mins?|s/it|it/s|speed|throughput|fps|tokens?/s)\b"
        ),
    ),
    ("size", re.compile(r"(?i)(?:#\s*param|\bparam(?:eter)?s?\b|\bsize\b|\bflops?\b|\bmacs\b)")),
    ("energy", re.compile(r"(?i)\b(?:energy|power|kwh|joules?|watts?|co2)\b")),
    ("cost", re.compile(r"(?i)\b(?:cost|price|\$|usd)\b")),
]
_UNIT = re.compile(r"\(([^()]{1,12})\)\s*$|\[([^\[\]]{1,12})\]\s*$")


def quantity(header: str, cells: list[str]) -> str:
    """The quantity a column measures (memory, time, size, energy, cost), else "score"."""
    text = plain(header) + " " + " ".join(re.sub(r"^[\s\d.,+\-−±]+", "", c)[:8] for c in cells[:5])
    return next((name for name, pattern in _QUANTITIES if pattern.search(text)), "score")


def _axis_label(header: list[str], cols: list[int], kind: str) -> str:
    """The y label of a panel: the column's name for one series, else the quantity and the unit
    the headers share (``Accuracy (%)``, ``memory (GB)``)."""
    if len(cols) == 1:
        return plain(header[cols[0]])
    units = {(m.group(1) or m.group(2)) if (m := _UNIT.search(plain(header[c]))) else "" for c in cols}
    unit = units.pop() if len(units) == 1 else ""
    return f"{kind} ({unit})" if unit else kind


def _by_scale(rows: list[list[str]], series: list[int], header: list[str] | None = None) -> list[list[int]]:
    """Series grouped into panels, one quantity each (``quantity``), and within one by scale:
    columns 10x apart (an accuracy in % next to an F1 in [0, 1]) go to different panels,
    otherwise the small one would be flat bars on the axis."""
    kinds = {c: quantity(header[c], [r[c] for r in rows]) if header else "score" for c in series}
    peak = {c: max(abs(v) for r in rows if (v := number(r[c])) is not None) or 1.0 for c in series}
    panels: list[list[int]] = []
    for kind in dict.fromkeys(kinds[c] for c in series):
        group: list[list[int]] = []
        for c in sorted((c for c in series if kinds[c] == kind), key=peak.__getitem__):
            if group and peak[c] <= 10 * peak[group[-1][0]]:
                group[-1].append(c)
            else:
                group.append([c])
        panels += group
    return sorted((sorted(p) for p in panels), key=min)  # panels in the order of the columns


def _draw(ax, kind: str, header: list[str], rows: list[list[str]], series: list[int], small: bool) -> None:
    if kind == "line":
        xs = [number(r[0]) for r in rows]
        for c in series:  # a missing cell is a gap in the line (NaN), not a line drawn across it
            ys = [v if (v := number(r[c])) is not None else float("nan") for r in rows]
            ax.plot(xs, ys, marker="o", label=plain(header[c]))
        if all(x and x > 0 for x in xs) and max(xs) / min(xs) >= 100:  # type: ignore[type-var,operator]
            ax.set_xscale("log")  # a sweep over orders of magnitude (sizes, learning rates)
        ax.set_xlabel(plain(header[0]), fontsize=7)
    else:
        width = 0.8 / len(series)
        for k, c in enumerate(series):
            pos = [i + (k - (len(series) - 1) / 2) * width for i in range(len(rows))]
            vals = [number(r[c]) for r in rows]
            ax.bar(
                [p for p, v in zip(pos, vals, strict=True) if v is not None],
                [v for v in vals if v is not None],
                width=width,
                label=plain(header[c]),
            )
            for p, v in zip(pos, vals, strict=True):  # a missing cell: a gap marked n/a, not a zero
                if v is None:
                    ax.text(p, 0, "n/a", ha="center", va="bottom", fontsize=5, color="0.4", rotation=90)
        ax.set_xticks(range(len(rows)))
        tilt = 30 if len(rows) > 4 or small else 0
        keys = key_columns(header, rows, numeric_columns(header, rows))
        ax.set_xticklabels(
            [_row_label(r, keys) for r in rows], rotation=tilt, ha="right" if tilt else "center"
        )
        ax.set_xlim(-0.6, len(rows) - 0.4)
        if len(rows) > 8:  # many groups: upright small labels that do not run into each other
            ax.tick_params(axis="x", labelrotation=90, labelsize=5)
    ax.set_ylabel(
        _axis_label(header, series, quantity(header[series[0]], [r[series[0]] for r in rows])), fontsize=7
    )
    if small and len(series) == 1:
        ax.set_title(plain(header[series[0]]), fontsize=8)
    else:  # above the axes, so the legend never hides a bar
        ax.legend(
            fontsize=7,
            frameon=False,
            ncol=min(len(series), 3 if small else 6),
            loc="lower center",
            bbox_to_anchor=(0.5, 1.0),
        )
    ax.grid(axis="y", alpha=0.3)
    ax.tick_params(labelsize=7)


def plot_result_tables(
    items: list[ResultItem], folder: str | Path, simulated: bool = False
) -> list[ResultFigure]:
    """Write ``folder/results-N.png`` for each plottable table; return what was drawn."""
    todo = [(item, p) for item in items if (p := plan(item))]
    if not todo:
        return []
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    figures = []
    for item, (kind, _xcol, series) in todo:
        assert item.table is not None
        header, rows = item.table.header, item.table.rows
        panels = _by_scale(rows, series, header)
        fig, axes = plt.subplots(1, len(panels), figsize=(6.4, 3.4), dpi=150, squeeze=False)
        for ax, cols in zip(axes[0], panels, strict=True):
            _draw(ax, kind, header, rows, cols, small=len(panels) > 1)
        fig.tight_layout()
        path = out / f"results-{item.index}.png"
        fig.savefig(path)
        plt.close(fig)
        drawn = len(series)
        cols = numeric_columns(header, rows)
        keys = 1 if kind == "line" else key_columns(header, rows, cols)
        total = len([c for c in cols if c >= keys])
        caption = (
            f"{plain(item.name)}: {'bar chart' if kind == 'bar' else 'line chart'} of the table's numbers"
        )
        if total > drawn:
            caption += f" (first {drawn} of {total} numeric columns)"
        caption += "."
        if simulated:
            caption += " Simulated by the model, not measured."
        figures.append(ResultFigure(item.index, path, kind, caption, f"fig:results-{item.index}"))
    return figures


__all__ = ["ResultFigure", "number", "numeric_columns", "plot_result_tables", "plan"]
