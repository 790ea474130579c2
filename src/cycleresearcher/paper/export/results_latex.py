"""The supplied (or simulated) result tables as LaTeX, figure inclusion, and the \\ref check.

Cells are the user's text: everything is escaped, except a few harmless formatting commands with a
plain argument (``\\textsc{Msd}``, ``\\textbf{..}``, ...) and inline math made only of symbols
from a short list (``$\\pm$``), so no cell can run a TeX primitive. Numbers are right-aligned
(booktabs rules; wide tables are scaled to the text width).
"""

from __future__ import annotations

import re
import unicodedata

from ...latex import greek_macro, strip_comments
from ..results import ResultItem
from .figures import ResultFigure, numeric_columns

SIMULATED_TAG = "Simulated by the model, not measured."

_FORMAT = re.compile(
    r"\\(textsc|textbf|textit|emph|underline|texttt|textsuperscript|textsubscript)\{([^{}\\$]*)\}"
)
_MATH = re.compile(r"\$([^$]*)\$")
_MATH_WORDS = [
    "pm",
    "mp",
    "times",
    "cdot",
    "div",
    "leq",
    "geq",
    "le",
    "ge",
    "approx",
    "sim",
    "uparrow",
    "downarrow",
    "rightarrow",
    "leftarrow",
    "dagger",
    "ddagger",
    "ast",
    "star",
    "circ",
    "bullet",
    "infty",
    "surd",
    "sqrt",
    "prime",
    "alpha",
    "beta",
    "gamma",
    "delta",
    "epsilon",
    "theta",
    "lambda",
    "mu",
    "sigma",
    "tau",
    "phi",
    "rho",
    "eta",
    "pi",
    "omega",
    "Delta",
    "Sigma",
    "Omega",
    "Phi",
    "Gamma",
    "Lambda",
    "Theta",
]
# Inline math a cell may keep: letters, digits, operators and the commands above, nothing else.
_MATH_OK = re.compile(
    r"(?:[\w\s.,;:+\-*/=<>()\[\]|'!^_{}]|\\%|\\(?:" + "|".join(_MATH_WORDS) + r")(?![A-Za-z]))*"
)
_UNICODE = {
    "±": r"\ensuremath{\pm}",
    "×": r"\ensuremath{\times}",
    "√": r"\ensuremath{\surd}",
    "→": r"\ensuremath{\rightarrow}",
    "←": r"\ensuremath{\leftarrow}",
    "↑": r"\ensuremath{\uparrow}",
    "↓": r"\ensuremath{\downarrow}",
    "≤": r"\ensuremath{\leq}",
    "≥": r"\ensuremath{\geq}",
    "≈": r"\ensuremath{\approx}",
    "∞": r"\ensuremath{\infty}",
    "−": "-",
    "–": "--",
    "—": "---",
    "•": r"\ensuremath{\bullet}",
    "†": r"\dag{}",
    "‡": r"\ddag{}",
}
_SPECIAL = {
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "\\": r"\textbackslash{}",
}


def _escape_plain(text: str) -> str:
    out = []
    for ch in text:
        if ch in _SPECIAL:
            out.append(_SPECIAL[ch])
        elif ch in _UNICODE:
            out.append(_UNICODE[ch])
        elif (macro := greek_macro(ch)) is not None:
            out.append(rf"\ensuremath{{{macro}}}")
        elif "GREEK" in unicodedata.name(ch, "") and unicodedata.category(ch).startswith("L"):
            look_alike = unicodedata.name(ch).split(" LETTER ")[-1][:1]  # no macro (Alpha, omicron): A, o
            out.append(look_alike.lower() if "SMALL" in unicodedata.name(ch) else look_alike)
        elif ch in "\n\r\t":
            out.append(" ")
        else:
            out.append(ch)
    return "".join(out)


def latex_text(text: str) -> str:
    """User text safe for LaTeX, keeping simple formatting commands and symbol-only math."""
    text = re.sub(r"\\([%&_#])", r"\1", str(text))  # "85\%" written for LaTeX: the escape below adds it back
    pieces, pos = [], 0
    pattern = re.compile(f"{_FORMAT.pattern}|{_MATH.pattern}")
    for m in pattern.finditer(text):
        pieces.append(_escape_plain(text[pos : m.start()]))
        if m.group(1):
            pieces.append(f"\\{m.group(1)}{{{_escape_plain(m.group(2))}}}")
        elif _MATH_OK.fullmatch(m.group(3)):
            pieces.append(f"${m.group(3)}$")
        else:
            pieces.append(_escape_plain(m.group(0)))
        pos = m.end()
    pieces.append(_escape_plain(text[pos:]))
    return "".join(pieces)


def table_latex(item: ResultItem, simulated: bool, labels: list[str] | None = None) -> str:
    """The supplied table as a float labelled ``tab:results-N`` and with ``labels`` (the labels the
    model's text refers to it by)."""
    assert item.table is not None
    header, rows = item.table.header, item.table.rows
    numeric = set(numeric_columns(header, rows))
    spec = "".join("r" if j in numeric else "l" for j in range(len(header)))
    marks = "".join(rf"\label{{{x}}}" for x in [f"tab:results-{item.index}", *(labels or [])])
    lines = [
        r"\begin{table}[htbp]",
        r"\centering\small",
        rf"\caption{{{latex_text(item.name)}{(' --- ' + SIMULATED_TAG) if simulated else ''}}}",
        marks,
    ]
    tabular = [
        rf"\begin{{tabular}}{{{spec}}}",
        r"\toprule",
        " & ".join(latex_text(c) for c in header) + r" \\",
        r"\midrule",
        *(" & ".join(latex_text(c) for c in row) + r" \\" for row in rows),
        r"\bottomrule",
        r"\end{tabular}",
    ]
    if len(header) > 6:  # wide tables (the records have up to 12 columns) would run off the page
        tabular = [r"\resizebox{\linewidth}{!}{%", *tabular, "}"]
    return "\n".join([*lines, *tabular, r"\end{table}"])


def figure_latex(fig: ResultFigure, folder: str = "figures", labels: list[str] | None = None) -> str:
    marks = "".join(rf"\label{{{x}}}" for x in [fig.label, *(labels or [])])
    return "\n".join(
        [
            r"\begin{figure}[htbp]",
            r"\centering",
            rf"\includegraphics[width=0.8\linewidth]{{{folder}/{fig.path.name}}}",
            rf"\caption{{{latex_text(fig.caption)}}}",
            marks,
            r"\end{figure}",
        ]
    )


#: "Figure 4: ..." at the start of a described figure: its number in the source paper, not ours
_SOURCE_NUMBER = re.compile(r"^\s*(?:Figure|Fig\.?)\s*[\w.]+\s*[:.]\s*", re.I)


def described_figure_latex(item: ResultItem, labels: list[str]) -> str:
    """A figure the results describe but do not supply: a float of its own (it is not one of the
    drawn charts), an empty frame saying so, the description as its caption and the labels the
    model's text refers to it by."""
    caption = _SOURCE_NUMBER.sub("", item.image).strip() or item.name
    marks = "".join(rf"\label{{{x}}}" for x in [f"fig:described-{item.index}", *labels])
    return "\n".join(
        [
            r"\begin{figure}[htbp]",
            r"\centering",
            r"\fbox{\parbox{0.8\linewidth}{\centering\small\itshape Image not supplied: the results describe this figure.}}",
            rf"\caption{{{latex_text(caption)}}}",
            marks,
            r"\end{figure}",
        ]
    )


def results_section_latex(
    items: list[ResultItem],
    figures: list[ResultFigure],
    simulated: bool,
    shown: dict[int, str] | None = None,
    table_labels: dict[int, list[str]] | None = None,
    figure_labels: dict[int, list[str]] | None = None,
    shown_figures: dict[int, str] | None = None,
) -> str:
    """A section holding every experiment of the results: its tables, figures and texts. A table
    the model's text already shows (``shown``: item index -> that table's label) is referred to,
    not printed again; ``table_labels`` / ``figure_labels`` are the labels the model's refs use for
    a supplied table / figure, carried by it so that every ref resolves; ``shown_figures`` (item
    index -> label) are described figures a figure of the model's text already is."""
    if not items:
        return ""
    shown, table_labels, figure_labels = shown or {}, table_labels or {}, figure_labels or {}
    shown_figures = shown_figures or {}
    by_item = {f.item: f for f in figures}
    title = (
        "Experimental results (simulated by the model)" if simulated else "Experimental results as supplied"
    )
    intro = (
        "The model wrote these results itself: they were not measured. "
        if simulated
        else "The results below are the ones supplied for this paper, reproduced as given. "
    )
    if shown:
        intro += "A table the text above already shows with these numbers is referred to, not repeated. "
    parts = [rf"\section*{{{title}}}", r"\addcontentsline{toc}{section}{" + title + "}", intro]
    for item in items:
        parts.append(rf"\paragraph{{{latex_text(item.name)}.}}")
        if item.index in shown:
            parts.append(f"Table~\\ref{{{shown[item.index]}}} (in the text).")
        elif item.table is not None:
            parts.append(f"Table~\\ref{{tab:results-{item.index}}}.")
        if item.index in by_item:
            parts.append(f"Figure~\\ref{{{by_item[item.index].label}}}.")
        for text in (item.description, *item.notes):
            if text:
                parts.append(latex_text(text))
        fig_labels = figure_labels.get(item.index, [])
        if item.image and item.index in shown_figures:
            parts.append(
                f"Figure~\\ref{{{shown_figures[item.index]}}} (in the text; described, no image supplied)."
            )
        elif item.image:
            parts.append(f"Figure~\\ref{{fig:described-{item.index}}} (described, no image supplied).")
            parts.append(described_figure_latex(item, fig_labels))
            fig_labels = []
        if item.table is not None and item.index not in shown:
            parts.append(table_latex(item, simulated, table_labels.get(item.index)))
        if item.index in by_item:
            parts.append(figure_latex(by_item[item.index], labels=fig_labels))
    return "\n\n".join(parts)


_REF = re.compile(r"\\(?:[cC]ref|[vV]ref|autoref|eqref|ref|pageref)\*?\s*\{([^{}]*)\}")
_LABEL = re.compile(r"\\label\s*\{([^{}]*)\}")


def unresolved_refs(body: str) -> list[str]:
    """Labels that ``\\ref``-family commands in ``body`` point to but no ``\\label`` defines."""
    text = strip_comments(body)
    labels = set(_LABEL.findall(text))
    out: list[str] = []
    for m in _REF.finditer(text):
        for key in m.group(1).split(","):
            key = key.strip()
            if key and key not in labels and key not in out:
                out.append(key)
    return out


__all__ = [
    "SIMULATED_TAG",
    "described_figure_latex",
    "figure_latex",
    "latex_text",
    "results_section_latex",
    "table_latex",
    "unresolved_refs",
]
