"""Experiment results: reading them (LaTeX-aware JSON), checking their shape, and checking that
the numbers in the results LaTeX come from them (grounding).

Shape (FORMATS.md §1, the training records' turn 4): a JSON list of experiments
``{"name": str, "result": {...}}`` whose ``result`` holds at least one of ``table`` (a list of
rows, each a list of cells; the first row is the header), ``description`` (text), ``notes`` (a
list of texts, or one text) and ``image`` (a text describing a figure). Every one of these
variants occurs in the training records; other keys are kept as they are.

LaTeX inside JSON strings (``read_json``): the model writes LaTeX in its JSON with single
backslashes, and the training records were serialised the same way (``CofiPara-\\textsc{Msd}``).
A strict JSON reader turns ``\\t`` into a TAB (``extsc{Msd}``), ``\\f`` into a form feed
(``rac{1}{2}``), ``\\b`` into a backspace (``eta``), ``\\n``/``\\r`` into line breaks
(``oindent``, ``ho``). The rule, applied left to right to every backslash:

* ``\\\\``, ``\\"``, ``\\/`` and ``\\u`` + 4 hex digits keep their JSON meaning;
* ``\\b`` or ``\\f`` followed by a letter is LaTeX (a backspace or form feed before a letter never
  occurs in results text): the backslash stays;
* ``\\n``, ``\\r``, ``\\t`` followed by letters: the whole letter run (``noindent``, ``rho``,
  ``textsc``) is LaTeX when it is a known command name (``LATEX_NRT_COMMANDS``) or starts with
  ``text``; otherwise the JSON escape keeps its meaning (``line\\nThe`` is a line break + "The");
* any other backslash (``\\alpha``, ``\\%``, ``\\_``, ``\\underline``, i.e. ``\\u`` without 4 hex
  digits) is not a JSON escape at all: it stays as a literal backslash.

``dump_json`` is the inverse for the training layout: ``json.dumps``, then every ``\\\\`` that the
reader would read back as LaTeX is written as one backslash, as in the training records.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

from .errors import InputError

# LaTeX command names starting with n, r or t (the letters whose JSON escapes are plausible
# in text): read as LaTeX only when the whole letter run is one of these (or starts with "text").
LATEX_NRT_COMMANDS = frozenset(
    [
        "nabla",
        "natural",
        "ne",
        "nearrow",
        "neg",
        "negthinspace",
        "neq",
        "newcommand",
        "newenvironment",
        "newline",
        "newpage",
        "newtheorem",
        "ni",
        "nleq",
        "ngeq",
        "nless",
        "ngtr",
        "nmid",
        "nocite",
        "noindent",
        "nolimits",
        "nonumber",
        "normalfont",
        "normalsize",
        "not",
        "notin",
        "nparallel",
        "nsim",
        "nsubseteq",
        "nsupseteq",
        "nu",
        "nwarrow",
        "raggedleft",
        "raggedright",
        "raisebox",
        "rangle",
        "rbrace",
        "rbrack",
        "rceil",
        "renewcommand",
        "rfloor",
        "rho",
        "rhd",
        "right",
        "rightarrow",
        "rightharpoonup",
        "rightleftharpoons",
        "rm",
        "rmfamily",
        "rtimes",
        "rule",
        "ref",
        "tabcolsep",
        "tabular",
        "tau",
        "tbinom",
        "tfrac",
        "theta",
        "thinspace",
        "thispagestyle",
        "tilde",
        "times",
        "tiny",
        "to",
        "today",
        "top",
        "triangle",
        "triangledown",
        "triangleleft",
        "triangleright",
        "tt",
        "ttfamily",
        "twocolumn",
    ]
)

_ESCAPE = re.compile(r"\\(\\|u[0-9a-fA-F]{4}|[\"/]|[bfnrt][A-Za-z]*|.)", re.S)


def _is_latex(run: str) -> bool:
    """Whether ``\\`` + ``run`` (run starts with one of b f n r t) is a LaTeX command."""
    if run[0] in "bf":
        return len(run) > 1
    return run in LATEX_NRT_COMMANDS or run.startswith("text")


def protect_latex(text: str) -> str:
    """JSON text with the backslashes that start LaTeX commands doubled (see the module rule)."""

    def repl(m: re.Match[str]) -> str:
        tok = m.group(1)
        if tok == "\\" or tok in ('"', "/") or (tok[0] == "u" and len(tok) == 5):
            return m.group(0)
        if tok[0] in "bfnrt":
            return "\\\\" + tok if _is_latex(tok) else m.group(0)
        return "\\\\" + tok  # not a JSON escape at all: a literal backslash

    return _ESCAPE.sub(repl, text)


def read_json(text: str, label: str = "JSON") -> Any:
    """``json.loads`` that keeps LaTeX commands inside strings literal (module docstring rule).

    Raises ``json.JSONDecodeError`` like ``json.loads`` (positions refer to the protected text,
    which only differs by the doubled backslashes), and ``safejson.NestingError`` (an InputError)
    for hostile nesting instead of a RecursionError."""
    from . import safejson

    return safejson.loads(protect_latex(text), label)


def dump_json(value: Any) -> str:
    """``json.dumps`` (defaults: ASCII escapes, ", " and ": ") with LaTeX backslashes written once,
    the byte layout of the training records; ``read_json(dump_json(v)) == v`` for LaTeX text."""
    text = json.dumps(value)
    out: list[str] = []
    i = 0
    for m in _ESCAPE.finditer(text):
        out.append(text[i : m.start()])
        i = m.end()
        if m.group(1) != "\\":
            out.append(m.group(0))
            continue
        run = re.match(r"[A-Za-z]*", text[i:]).group()  # type: ignore[union-attr]
        if run and run[0] in "bfnrt" and _is_latex(run):
            out.append("\\")  # json.dumps wrote "\\\\textsc"; the records have "\\textsc"
        else:
            out.append(m.group(0))
    out.append(text[i:])
    return "".join(out)


# ----------------------------------------------------------------------------- shape


class ResultsError(InputError):
    """Experiment results that do not have the documented shape; the message says where."""


@dataclass
class ResultTable:
    header: list[str]
    rows: list[list[str]]  # padded to the header's width


@dataclass
class ResultItem:
    """One experiment of the results list, checked."""

    index: int  # 1-based position in the list
    name: str
    table: ResultTable | None = None
    description: str = ""
    notes: list[str] = field(default_factory=list)
    image: str = ""

    @property
    def text(self) -> str:
        return "\n".join([self.description, *self.notes, self.image]).strip()


RESULT_KEYS = ("table", "description", "notes", "image")
_SHAPE = 'a JSON list like [{"name": "Main comparison", "result": {"table": [["Method", "Acc."], ["Ours", "81.2"]], "description": "..."}}]'


def _cell(value: Any, where: str) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (int, float)):
        if isinstance(value, float) and not math.isfinite(value):
            raise ResultsError(f"{where}: a cell must be a finite number or text, got {value}")
        return str(value)
    if isinstance(value, str):
        return value
    raise ResultsError(f"{where}: a cell must be text or a number, got a {type(value).__name__}")


def validate_results(value: Any, source: str = "results") -> list[ResultItem]:
    """Check ``value`` against the documented shape; raise ResultsError naming what and where.

    A single experiment object is accepted as a list of one (as ``results_message`` does)."""
    if isinstance(value, dict) and ("name" in value or "result" in value):
        value = [value]
    if not isinstance(value, list):
        raise ResultsError(f"{source}: the results must be {_SHAPE}; got a {type(value).__name__}")
    if not value:
        raise ResultsError(f"{source}: the results list is empty; give at least one experiment")
    items = []
    for i, item in enumerate(value, 1):
        where = f"{source}: item {i}"
        if not isinstance(item, dict):
            raise ResultsError(f"{where} must be an object {{name, result}}, got a {type(item).__name__}")
        name = item.get("name")
        if not isinstance(name, str) or not name.strip():
            got = ", ".join(repr(k) for k in list(item)[:5]) or "nothing"
            raise ResultsError(f"{where} needs a 'name' (text); it has {got}. Expected {_SHAPE}")
        where = f"{source}: item {i} ({name!r})"
        result = item.get("result")
        if not isinstance(result, dict):
            what = "no 'result'" if result is None else f"a {type(result).__name__} as 'result'"
            raise ResultsError(
                f"{where} has {what}; 'result' must be an object with 'table' and/or 'description'"
            )
        if not any(k in result for k in RESULT_KEYS):
            raise ResultsError(
                f"{where}: 'result' needs at least one of {', '.join(RESULT_KEYS)}; it has "
                f"{', '.join(repr(k) for k in result) or 'nothing'}"
            )
        items.append(_item(i, name.strip(), result, where))
    return items


def _item(i: int, name: str, result: dict[str, Any], where: str) -> ResultItem:
    out = ResultItem(index=i, name=name)
    if "table" in result:
        table = result["table"]
        if not isinstance(table, list) or not table or not all(isinstance(r, list) for r in table):
            raise ResultsError(
                f"{where}: 'result.table' must be a list of rows (lists of cells), header first"
            )
        width = len(table[0])
        if width == 0:
            raise ResultsError(f"{where}: 'result.table' row 1 (the header) is empty")
        rows = []
        for r, row in enumerate(table, 1):
            if len(row) > width:
                raise ResultsError(
                    f"{where}: 'result.table' row {r} has {len(row)} cells but the header has {width}"
                )
            cells = [_cell(c, f"{where}: 'result.table' row {r}, cell {j}") for j, c in enumerate(row, 1)]
            rows.append(cells + [""] * (width - len(cells)))
        out.table = ResultTable(header=rows[0], rows=rows[1:])
    for key in ("description", "image"):
        if key in result and result[key] is not None:
            if not isinstance(result[key], (str, int, float)):
                raise ResultsError(f"{where}: 'result.{key}' must be text")
            setattr(out, key, str(result[key]))
    notes = result.get("notes")
    if notes is not None:
        if isinstance(notes, str):
            notes = [notes]
        if not isinstance(notes, list) or not all(isinstance(n, (str, int, float)) for n in notes):
            raise ResultsError(f"{where}: 'result.notes' must be a list of texts")
        out.notes = [str(n) for n in notes]
    return out


def load_results(text: str, source: str = "results.json") -> tuple[Any, list[ResultItem]]:
    """A user's results file: (the JSON value as read, its checked items). LaTeX-aware reading."""
    if not text.strip():
        raise ResultsError(f"{source} is empty. Give {_SHAPE}")
    try:
        value = read_json(text, source)
    except json.JSONDecodeError as exc:
        raise ResultsError(
            f"{source} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}). Give {_SHAPE}"
        ) from exc
    except RecursionError as exc:
        raise ResultsError(f"{source} is nested too deeply to be experiment results. Give {_SHAPE}") from exc
    return value, validate_results(value, source)


def result_items(value: Any) -> list[ResultItem]:
    """The checked items of stored results, or [] when they do not have the documented shape
    (a simulated paper's results are whatever the model wrote)."""
    try:
        return validate_results(value)
    except ResultsError:
        return []


# ----------------------------------------------------------------------------- numbers

# A number as shown: optional sign, digits with optional thousands commas, optional decimals.
_NUMBER = re.compile(r"(?<![\w.])[-−]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|(?<![\w.])[-−]?\.\d+")


@dataclass(frozen=True)
class Shown:
    """A number as written: its value and how many decimals it shows."""

    value: float
    decimals: int


def _shown(token: str) -> Shown:
    t = token.replace("−", "-").replace(",", "")
    decimals = len(t.split(".", 1)[1]) if "." in t else 0
    return Shown(float(t), decimals)


def supplied_numbers(items: list[ResultItem]) -> list[Shown]:
    """Every number in the supplied results: table cells (header included), descriptions, notes."""
    texts: list[str] = []
    for item in items:
        if item.table:
            texts += [c for row in [item.table.header, *item.table.rows] for c in row]
        texts.append(item.text)
    out = []
    for text in texts:
        for m in _NUMBER.finditer(text):
            out.append(_shown(m.group()))
    return out


def _matches(n: Shown, supplied: list[Shown]) -> bool:
    """Exact, or equal within the rounding ``n`` shows (81.2 matches 81.23), sign ignored
    (differences are often quoted without it), also as a percentage of a fraction and back."""
    tol = 0.5 * 10 ** (-n.decimals) + 1e-9
    target = abs(n.value)
    for s in supplied:
        v = abs(s.value)
        for candidate in (v, v * 100, v / 100):
            if abs(candidate - target) <= tol:
                return True
    return False


# What is not a result: cross-references and citations, labels, lengths, names with digits.
_DROP_COMMANDS = re.compile(
    r"\\(?:[a-zA-Z]*ref|label|cite[a-zA-Z]*|nocite|url|href|includegraphics|input|include|begin|end"
    r"|multicolumn|multirow|cmidrule|cline|hspace|vspace|setlength|addlinespace|arraystretch"
    r"|section|subsection|subsubsection|paragraph|cellcolor|rowcolor|columncolor|textcolor|color)\*?\s*(?:\[[^\]]*\]\s*)?\{[^{}]*\}(?:\s*\{[^{}]*\})?"
)
_UNIT = re.compile(r"\s*(?:pt|mm|cm|em|ex|in|bp|\\(?:line|text|column)width)\b")
_CROSSREF_WORD = re.compile(
    r"(?i)(?:section|sec\.|chapter|appendix|table|tab\.|figure|fig\.|eq\.|eqn\.|equation|algorithm|alg\."
    r"|theorem|lemma|corollary|proposition|definition|assumption|step|line|part|stage|phase)\s*~?\s*\(?$"
)
_MATH_SUB = re.compile(r"[_^]\s*\{?\s*$")


@dataclass
class UngroundedNumber:
    number: str
    context: str  # the text around it, to find it

    def to_dict(self) -> dict[str, str]:
        return {"number": self.number, "context": self.context}


@dataclass
class Grounding:
    checked: int  # numbers in the results LaTeX that count as results
    grounded: int
    ungrounded: list[UngroundedNumber]

    @property
    def share(self) -> float | None:
        return self.grounded / self.checked if self.checked else None

    def summary(self) -> dict[str, Any]:
        return {"checked": self.checked, "grounded": self.grounded, "rule": GROUNDING_RULE}


GROUNDING_RULE = (
    "numbers in the results LaTeX, except: inside \\ref/\\label/\\cite/\\url/\\begin/\\section and "
    "table-layout commands, comments, lengths (3pt, 0.5\\linewidth), sub/superscripts and bases of powers, numbers glued to a "
    "name (GPT-4, F1, 7B), numbers after Section/Table/Figure/Eq./Appendix/..., years 1900-2099, "
    "equation tags (1), and one-digit integers (counts, indices); each must equal a supplied number "
    "within the rounding it shows, ignoring sign, or as a percentage of a fraction (or back)"
)


def result_numbers(latex: str) -> list[tuple[str, int, int]]:
    """(token, start, end) of every number in ``latex`` that counts as a result (GROUNDING_RULE)."""
    text = re.sub(r"(?<!\\)%[^\n]*", lambda m: " " * len(m.group()), latex)
    text = _DROP_COMMANDS.sub(lambda m: " " * len(m.group()), text)
    out = []
    for m in _NUMBER.finditer(text):
        tok, start, end = m.group(), m.start(), m.end()
        before, after = text[max(0, start - 30) : start], text[end : end + 12]
        plain = tok.lstrip("-−")
        if re.match(r"[A-Za-z]", after) or _UNIT.match(after):
            continue  # 7B, 1st, 96M, 2x, 3pt: part of a name or a length
        if re.search(r"[A-Za-z]-?$", before) and not before.endswith("\\"):
            continue  # GPT-4, ETTh1, F1, AP50
        if re.search(r"\\[A-Za-z]+$", before):
            continue  # \num1-like control words glued to the number
        if _MATH_SUB.search(before) or re.match(r"\s*\^", after):
            continue  # x_1, 10^{3}: indices, exponents and the bases of powers
        if _CROSSREF_WORD.search(before):
            continue  # Table 2, Section 4.1, Eq. (3)
        if re.fullmatch(r"(?:19|20)\d\d", plain):
            continue  # a year
        if re.search(r"\(\s*$", before) and re.match(r"\s*\)", after) and "." not in plain:
            continue  # (1): an equation or list tag
        if re.fullmatch(r"\d", plain):
            continue  # one-digit counts and indices: 3 datasets, k = 5
        out.append((tok, start, end))
    return out


def check_grounding(latex: str, items: list[ResultItem]) -> Grounding:
    """Match every result number of ``latex`` against the supplied results (GROUNDING_RULE)."""
    supplied = supplied_numbers(items)
    found = result_numbers(latex)
    ungrounded = []
    for tok, start, end in found:
        if not _matches(_shown(tok), supplied):
            context = re.sub(r"\s+", " ", latex[max(0, start - 40) : end + 40]).strip()
            ungrounded.append(UngroundedNumber(tok, context))
    return Grounding(checked=len(found), grounded=len(found) - len(ungrounded), ungrounded=ungrounded)


def ungrounded_spans(latex: str, numbers: list[dict[str, str]]) -> list[tuple[int, int]]:
    """Positions in ``latex`` of the recorded ungrounded numbers (for highlighting)."""
    wanted = {n.get("number") for n in numbers}
    return [(s, e) for tok, s, e in result_numbers(latex) if tok in wanted]


__all__ = [
    "Grounding",
    "GROUNDING_RULE",
    "LATEX_NRT_COMMANDS",
    "ResultItem",
    "ResultTable",
    "ResultsError",
    "UngroundedNumber",
    "check_grounding",
    "dump_json",
    "load_results",
    "protect_latex",
    "read_json",
    "result_items",
    "result_numbers",
    "supplied_numbers",
    "ungrounded_spans",
    "validate_results",
]
