"""The authors' own macros: read their definitions, then expand their uses in the body.

``\\newcommand{\\method}{\\textsc{Tide}\\xspace}`` makes ``\\method`` read "\\textsc{Tide}";
``\\newcommand{\\note}[1]{}`` makes ``\\note{fix this}`` disappear (an author note switched
off). Only simple definitions are taken (``\\newcommand`` / ``\\renewcommand`` /
``\\providecommand`` / ``\\DeclareRobustCommand``, ``\\def`` with ``#1#2`` parameters,
``\\DeclareMathOperator``); a body that programs TeX (``\\csname``, ``\\expandafter``, ``@``,
conditionals) is left alone, and so are the document's structural commands, which a
redefinition only restyles.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..latex import group_end


@dataclass(frozen=True)
class Macro:
    name: str
    nargs: int
    body: str
    #: the first argument is optional with this default (``\\newcommand{\\x}[2][d]{...}``)
    default: str | None = None


_NEWCOMMAND = re.compile(
    r"\\(?:re)?newcommand\*?|\\providecommand\*?|\\DeclareRobustCommand\*?|\\DeclareMathOperator(\*?)"
)
_DEF = re.compile(r"\\[gex]?def\s*\\([A-Za-z]+)((?:#\d)*)\s*\{")
_NAME = re.compile(r"\s*(?:\{\s*\\([A-Za-z]+)\s*\}|\\([A-Za-z]+))")
_NARGS = re.compile(r"\s*\[\s*(\d)\s*\]")
#: structural commands a style file or preamble restyles; their meaning stays the document's
PROTECTED = frozenset(
    [
        "begin",
        "end",
        "section",
        "subsection",
        "subsubsection",
        "paragraph",
        "subparagraph",
        "chapter",
        "part",
        "caption",
        "label",
        "ref",
        "eqref",
        "cite",
        "citep",
        "citet",
        "item",
        "title",
        "author",
        "maketitle",
        "input",
        "include",
        "footnote",
        "emph",
        "textbf",
        "textit",
        "bibliography",
        "bibliographystyle",
        "appendix",
        "abstract",
        "url",
        "href",
        "date",
        "thanks",
        "and",
        "newline",
    ]
)
_PROGRAMMING = re.compile(
    r"\\(?:csname|expandafter|makeatletter|let|def|gdef|edef|newcommand|renewcommand|if[a-z]*\b|futurelet)|\\[A-Za-z]*@|##"
)


def _optional(s: str, i: int) -> tuple[str | None, int]:
    """The ``[...]`` at ``s[i]`` (spaces skipped) and the index after it; (None, i) when absent."""
    j = i
    while j < len(s) and s[j] in " \t\n":
        j += 1
    if j < len(s) and s[j] == "[":
        depth, k = 0, j
        while k < len(s):
            depth += s[k] in "[{"
            depth -= s[k] in "]}"
            if depth == 0:
                return s[j + 1 : k], k + 1
            k += 1
    return None, i


def _braced(s: str, i: int) -> tuple[str | None, int]:
    j = i
    while j < len(s) and s[j] in " \t\n":
        j += 1
    if j < len(s) and s[j] == "{":
        end = group_end(s, j)
        if end is not None:
            return s[j + 1 : end], end + 1
    return None, i


def read_definitions(text: str) -> tuple[dict[str, Macro], list[tuple[int, int]]]:
    """The simple macro definitions in ``text`` (a later one wins, as in TeX, except that
    ``\\providecommand`` never overrides) and the spans of every definition read."""
    macros: dict[str, Macro] = {}
    spans: list[tuple[int, int]] = []
    for m in _NEWCOMMAND.finditer(text):
        name_m = _NAME.match(text, m.end())
        if not name_m:
            continue
        name = name_m.group(1) or name_m.group(2)
        i = name_m.end()
        if m.group(0).startswith("\\DeclareMathOperator"):
            body, end = _braced(text, i)
            if body is not None:
                spans.append((m.start(), end))
                macros[name] = Macro(name, 0, f"\\operatorname{m.group(1) or ''}{{{body}}}")
            continue
        nargs, default = 0, None
        n = _NARGS.match(text, i)
        if n:
            nargs, i = int(n.group(1)), n.end()
            default, i = _optional(text, i)
        body, end = _braced(text, i)
        if body is None:
            continue
        spans.append((m.start(), end))
        if m.group(0).startswith("\\provide") and name in macros:
            continue
        macros[name] = Macro(name, nargs, body, default)
    for m in _DEF.finditer(text):
        params = m.group(2)
        nargs = len(params) // 2
        if params != "".join(f"#{k}" for k in range(1, nargs + 1)):
            continue
        end = group_end(text, m.end() - 1)
        if end is None:
            continue
        spans.append((m.start(), end + 1))
        macros[m.group(1)] = Macro(m.group(1), nargs, text[m.end() : end])
    return macros, spans


def expandable(macros: dict[str, Macro]) -> dict[str, Macro]:
    """The macros whose uses can be replaced by their bodies safely."""
    return {
        n: m
        for n, m in macros.items()
        if n not in PROTECTED and "@" not in n and not _PROGRAMMING.search(m.body) and len(m.body) < 2000
    }


def remove_spans(text: str, spans: list[tuple[int, int]]) -> str:
    out, pos = [], 0
    for start, end in sorted(spans):
        if start < pos:
            continue
        out.append(text[pos:start])
        pos = end
    out.append(text[pos:])
    return "".join(out)


def _argument(s: str, i: int) -> tuple[str | None, int]:
    """One undelimited argument at ``s[i]``: a brace group, a control word or one character."""
    j = i
    while j < len(s) and s[j] in " \t\n":
        j += 1
    if j >= len(s) or s[j] == "}":
        return None, i
    if s[j] == "{":
        return _braced(s, j)
    if s[j] == "\\":
        m = re.match(r"\\(?:[A-Za-z]+|.)", s[j:])
        return (m.group(0), j + len(m.group(0))) if m else (None, i)
    return s[j], j + 1


def _substitute(body: str, args: list[str]) -> str:
    return re.sub(r"#(\d)", lambda m: args[int(m.group(1)) - 1] if int(m.group(1)) <= len(args) else "", body)


#: a body may use another macro: this many rounds at most (a macro that uses itself stops here)
MAX_ROUNDS = 6


def expand(text: str, macros: dict[str, Macro]) -> str:
    """``text`` with every use of ``macros`` replaced by its body (arguments put in); a use whose
    arguments never close is left as it is. ``\\xspace`` is dropped: its space is already there."""
    if not macros:
        return text
    names = sorted(macros, key=len, reverse=True)
    use = re.compile(r"\\(" + "|".join(re.escape(n) for n in names) + r")(?![A-Za-z])")
    # a macro bomb (each body doubling the next) stops growing here: the rest stays unexpanded
    limit = 4 * len(text) + 100_000
    for _ in range(MAX_ROUNDS):
        out, pos, changed, size = [], 0, False, 0
        for m in use.finditer(text):
            if m.start() < pos:
                continue
            if size > limit:
                break
            macro = macros[m.group(1)]
            i, args = m.end(), []
            if macro.default is not None:
                opt, i = _optional(text, i)
                args.append(macro.default if opt is None else opt)
            while len(args) < macro.nargs:
                arg, i = _argument(text, i)
                if arg is None:
                    break
                args.append(arg)
            if len(args) < macro.nargs:
                continue
            out.append(text[pos : m.start()])
            body = _substitute(macro.body, args)
            size += m.start() - pos + len(body)
            # a control word eats the spaces after it: "\method is" keeps its space from the body side
            out.append(
                body + (" " if macro.nargs == 0 and body and i < len(text) and text[i] in " \n" else "")
            )
            pos = i
            while macro.nargs == 0 and pos < len(text) and text[pos] == " ":
                pos += 1
            changed = True
        out.append(text[pos:])
        text = "".join(out)
        if not changed or len(text) > limit:
            break
    return re.sub(r"\\xspace\b(\{\})?", "", text)


def user_macro_names(text: str) -> set[str]:
    """Names the text defines (any definition form, simple or not): what a reader should not
    leave raw."""
    names = {
        m.group(1) or m.group(2)
        for m in (_NAME.match(text, x.end()) for x in _NEWCOMMAND.finditer(text))
        if m
    }
    return names | set(_DEF_NAMES.findall(text))


_DEF_NAMES = re.compile(r"\\[gex]?def\s*\\([A-Za-z]+)")


__all__ = ["Macro", "expand", "expandable", "read_definitions", "remove_spans", "user_macro_names"]
