"""JSON that keeps LaTeX literal: the reader and writer of every JSON the model writes or reads
(its experiment setup and results blocks, a user's results file, the results turn we send).

The model writes LaTeX in its JSON with single backslashes, and the training records were
serialised the same way (``CofiPara-\\textsc{Msd}``). A strict JSON reader turns ``\\t`` into a TAB
(``extsc{Msd}``), ``\\f`` into a form feed (``rac{1}{2}``), ``\\b`` into a backspace (``eta``),
``\\n``/``\\r`` into line breaks (``oindent``, ``ho``). The rule of ``read_json``, applied left to
right to every backslash:

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

It lives beside ``latex`` and ``safejson`` rather than in ``paper/`` because the prompts use it too
(the results turn), and prompts come before the paper stage.
"""

from __future__ import annotations

import json
import re
from typing import Any

from . import safejson

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


__all__ = ["LATEX_NRT_COMMANDS", "dump_json", "protect_latex", "read_json"]
