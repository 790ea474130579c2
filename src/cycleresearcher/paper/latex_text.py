"""LaTeX as the reviewer should see it: switched-off text dropped, floats reduced, drawings gone.

Pure text transforms over one file or a flattened project (no I/O). The result stays LaTeX (the
reviewer models read LaTeX bodies), but without what the authors switched off (``\\iffalse``
blocks, ``comment`` environments), without TikZ / pgfplots drawing code, and with every figure
reduced to its caption and every table to its caption and cell text.
"""

from __future__ import annotations

import re

from ..latex import group_end

# -- switched-off text -------------------------------------------------------------------------
_TOKEN = re.compile(
    r"\\newif\s*\\if([A-Za-z@]+)|\\(if[A-Za-z@]*|fi|else)(?![A-Za-z@])|\\([A-Za-z@]+)(true|false)\b"
)
#: ``\if...`` names that take braced arguments and end without ``\fi`` (etoolbox, ifthen, math)
_NOT_CONDITIONALS = {
    "iff",
    "ifthenelse",
    "ifdef",
    "ifundef",
    "ifdefempty",
    "ifdefstring",
    "ifdefmacro",
    "ifstrequal",
    "ifstrempty",
    "ifblank",
    "ifbool",
    "iftoggle",
    "ifnumcomp",
    "ifdimcomp",
    "ifcsdef",
    "ifcsundef",
    "ifboolexpr",
    "ifpackageloaded",
    "ifcsvoid",
}


def drop_conditionals(
    text: str, flags: dict[str, bool], warnings: list[str], dropped: list[str] | None = None
) -> str:
    """``text`` without the branches TeX skips: ``\\iffalse`` / ``\\iftrue`` and the switches made
    with ``\\newif`` whose value is set in the text (``\\draftfalse``), read in order and kept in
    ``flags`` across files. Conditionals of unknown value are kept as they are. The text left out
    goes to ``dropped`` (the hidden-text scan reads it)."""
    out: list[str] = []
    # a frame: (known value or None, in the else branch)
    stack: list[tuple[bool | None, bool]] = []

    def active() -> bool:
        return all(v is None or v != in_else for v, in_else in stack)

    pos = 0
    for m in _TOKEN.finditer(text):
        if active():
            out.append(text[pos : m.start()])
        elif dropped is not None:
            dropped.append(text[pos : m.start()])
        pos = m.end()
        keep_token = True
        if m.group(1):  # \newif\ifdraft: a switch, false until set
            if active():
                flags.setdefault(m.group(1), False)
        elif m.group(3):  # \drafttrue / \draftfalse
            if m.group(3) in flags and active():
                flags[m.group(3)] = m.group(4) == "true"
        else:
            name = m.group(2)
            if name in _NOT_CONDITIONALS:
                pass
            elif name == "fi":
                if stack:
                    keep_token = stack.pop()[0] is None
            elif name == "else":
                if stack:
                    value, _ = stack[-1]
                    stack[-1] = (value, True)
                    keep_token = value is None
            else:
                value = {"iffalse": False, "iftrue": True}.get(name)
                if value is None and name[2:] in flags:
                    value = flags[name[2:]]
                keep_token = value is None
                stack.append((value, False))
                if not keep_token:
                    # the frame is pushed: the token itself is out either way
                    continue
        if keep_token and active():
            out.append(m.group(0))
    if active():
        out.append(text[pos:])
    elif dropped is not None:
        dropped.append(text[pos:])
    if any(v is not None for v, _ in stack):
        warnings.append("an \\iffalse (or a switched-off \\if) never closes; the text after it was dropped")
    return "".join(out)


_EXCLUDED_DECL = re.compile(r"\\excludecomment\s*\{([^}]+)\}")


def drop_comment_environments(text: str, dropped: list[str] | None = None) -> str:
    """``text`` without its ``comment`` environments and those declared with ``\\excludecomment``
    (an unclosed one runs to the end, as the comment package reads it)."""
    names = {"comment"} | {n.strip() for n in _EXCLUDED_DECL.findall(text)}
    for name in names:
        pat = re.compile(rf"\\begin\s*\{{{re.escape(name)}\}}.*?(?:\\end\s*\{{{re.escape(name)}\}}|\Z)", re.S)
        if dropped is not None:
            dropped.extend(m.group(0) for m in pat.finditer(text))
        text = pat.sub("", text)
    return text


def switch_off(
    text: str, flags: dict[str, bool], warnings: list[str], dropped: list[str] | None = None
) -> str:
    return drop_comment_environments(drop_conditionals(text, flags, warnings, dropped), dropped)


# -- environments -------------------------------------------------------------------------------
def env_spans(text: str, names: tuple[str, ...]) -> list[tuple[int, int, str, int]]:
    """(start, end, name, body start) of every outermost environment among ``names`` (nested ones
    of the same name counted; an unclosed one runs to the end)."""
    alt = "|".join(re.escape(n) for n in names)
    begin = re.compile(rf"\\begin\s*\{{({alt})\}}")
    spans = []
    pos = 0
    while True:
        m = begin.search(text, pos)
        if not m:
            return spans
        name = m.group(1)
        tok = re.compile(rf"\\(begin|end)\s*\{{{re.escape(name)}\}}")
        depth, end = 0, len(text)
        for t in tok.finditer(text, m.start()):
            depth += 1 if t.group(1) == "begin" else -1
            if depth == 0:
                end = t.end()
                break
        spans.append((m.start(), end, name, m.end()))
        pos = end


def _replace_envs(text: str, names: tuple[str, ...], fn) -> str:
    out, pos = [], 0
    for start, end, name, body in env_spans(text, names):
        out.append(text[pos:start])
        inner_end = text.rfind("\\end", body, end)
        out.append(fn(name, text[body : inner_end if inner_end > body else end]))
        pos = end
    out.append(text[pos:])
    return "".join(out)


# -- drawings -------------------------------------------------------------------------------------
DRAWINGS = (
    "tikzpicture",
    "pgfpicture",
    "axis",
    "semilogxaxis",
    "semilogyaxis",
    "loglogaxis",
    "groupplot",
    "tikzcd",
)
_INLINE_TIKZ = re.compile(r"\\tikz\b\s*(\[[^\]]*\])?\s*")
_GRAPHICS = re.compile(
    r"\\includegraphics\*?\s*(\[[^\]]*\])?\s*\{[^}]*\}|\\includesvg\s*(\[[^\]]*\])?\s*\{[^}]*\}"
)


def drop_drawings(text: str) -> str:
    text = _replace_envs(text, DRAWINGS, lambda _n, _b: "")
    out, pos = [], 0
    for m in _INLINE_TIKZ.finditer(text):
        if m.start() < pos:
            continue
        out.append(text[pos : m.start()])
        end = m.end()
        if end < len(text) and text[end] == "{":
            close = group_end(text, end)
            end = len(text) if close is None else close + 1
        else:  # \tikz \draw ...; up to the semicolon
            semi = text.find(";", end)
            end = len(text) if semi < 0 else semi + 1
        pos = end
    out.append(text[pos:])
    return _GRAPHICS.sub("", "".join(out))


# -- figures and tables -------------------------------------------------------------------------
FIGURES = ("figure", "figure*", "wrapfigure", "SCfigure", "subfigure", "subfigure*")
TABLES = ("table", "table*", "wraptable", "sidewaystable")
TABULARS = ("tabular", "tabular*", "tabularx", "tabulary", "longtable", "longtable*", "tblr")
_CAPTION = re.compile(r"\\(?:sub)?caption(?:of\s*\{[^}]*\})?\*?\s*(\[[^\]]*\])?\s*\{")
_RULES = re.compile(
    r"\\(?:hline|toprule|midrule|bottomrule|addlinespace|endhead|endfirsthead|endfoot|endlastfoot|hdashline)\b"
    r"(\s*\[[^\]]*\])?|\\(?:cline|cmidrule|specialrule|arrayrulecolor|rowcolor|cellcolor)\s*(\([^)]*\))?"
    r"\s*(\[[^\]]*\])?\s*\{[^}]*\}(\s*\{[^}]*\}){0,2}"
)
_SPANS = re.compile(r"\\multi(column|row)\s*\{[^}]*\}\s*(\[[^\]]*\])?\s*\{[^}]*\}\s*(\[[^\]]*\])?\s*\{")
_LABEL = re.compile(r"\\label\s*\{[^}]*\}")
_ROW_END = re.compile(r"\\\\(\s*\[[^\]]*\])?|\\tabularnewline\b")
_CELL = re.compile(r"(?<!\\)&")


def captions(body: str) -> list[str]:
    found = []
    for m in _CAPTION.finditer(body):
        end = group_end(body, m.end() - 1)
        text = body[m.end() : end] if end is not None else body[m.end() :]
        text = " ".join(_LABEL.sub("", text).split())
        if text:
            found.append(text)
    return found


def _unwrap_spans(s: str) -> str:
    """``\\multicolumn{2}{c}{X}`` and ``\\multirow{2}{*}{X}`` -> ``X``."""
    while True:
        m = _SPANS.search(s)
        if not m:
            return s
        end = group_end(s, m.end() - 1)
        if end is None:
            return s[: m.start()] + s[m.end() :]
        s = s[: m.start()] + s[m.end() : end] + s[end + 1 :]


def _skip_args(s: str, n: int) -> str:
    """``s`` without its first ``n`` brace groups (a tabular's width and column spec)."""
    for _ in range(n):
        t = s.lstrip()
        if t.startswith("["):
            t = t[t.find("]") + 1 :].lstrip() if "]" in t else t
        if not t.startswith("{"):
            return t
        end = group_end(t, 0)
        s = "" if end is None else t[end + 1 :]
    return s


def cell_text(name: str, body: str) -> str:
    """A tabular's rows as lines of cells joined by `` | ``, rules and spans unwrapped."""
    body = _skip_args(body, 2 if name in ("tabular*", "tabularx", "tabulary") else 1)
    body = _unwrap_spans(_RULES.sub("", _LABEL.sub("", body)))
    rows = []
    for row in _ROW_END.split(body):
        if row is None:
            continue
        cells = [" ".join(c.split()) for c in _CELL.split(row)]
        if any(cells):
            rows.append(" | ".join(cells))
    return "\n".join(rows)


def _tabulars(body: str) -> list[str]:
    return [
        cell_text(name, body[b : body.rfind("\\end", b, e)]) for _s, e, name, b in env_spans(body, TABULARS)
    ]


def reduce_floats(text: str) -> str:
    """Figures -> ``Figure: caption`` lines; tables -> ``Table: caption`` and their cell text;
    a tabular outside a table -> its cell text."""

    def figure(_name: str, body: str) -> str:
        return "".join(f"\nFigure: {c}\n" for c in captions(body))

    def table(_name: str, body: str) -> str:
        caps = "".join(f"Table: {c}\n" for c in captions(body))
        cells = "\n".join(t for t in _tabulars(body) if t)
        return f"\n{caps}{cells}\n" if caps or cells else ""

    text = _replace_envs(text, FIGURES, figure)
    text = _replace_envs(text, TABLES, table)
    return _replace_envs(text, TABULARS, lambda name, body: "\n" + cell_text(name, body) + "\n")


# -- readable symbols ---------------------------------------------------------------------------
SYMBOLS = {
    r"\ding{51}": "✓",
    r"\ding{52}": "✓",
    r"\ding{55}": "✗",
    r"\ding{56}": "✗",
    r"\checkmark": "✓",
    r"\cmark": "✓",
    r"\xmark": "✗",
}
_SYMBOL = re.compile("|".join(re.escape(k) + ("" if k.endswith("}") else r"(?![A-Za-z])") for k in SYMBOLS))


def readable_symbols(text: str) -> str:
    return _SYMBOL.sub(lambda m: SYMBOLS[m.group(0)], text)


#: environments that only set size or alignment: their markers go, their text stays
_LAYOUT_ENVS = re.compile(
    r"\\(?:begin|end)\s*\{(?:tiny|scriptsize|footnotesize|small|normalsize|large|Large|LARGE|huge|Huge"
    r"|center|flushleft|flushright|raggedright)\}"
)


def body_text(text: str) -> str:
    """A flattened body as the reviewer reads it: drawings gone, floats reduced, size and
    alignment environments unwrapped, symbols readable, runs of blank lines cut to one."""
    text = readable_symbols(_LAYOUT_ENVS.sub("", reduce_floats(drop_drawings(text))))
    return re.sub(r"\n\s*\n(\s*\n)+", "\n\n", text).strip()


__all__ = [
    "body_text",
    "captions",
    "cell_text",
    "drop_comment_environments",
    "drop_conditionals",
    "drop_drawings",
    "env_spans",
    "readable_symbols",
    "reduce_floats",
    "switch_off",
]
