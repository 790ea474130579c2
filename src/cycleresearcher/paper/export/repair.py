"""Repairs of slips the models make in their LaTeX that TeX reports as errors but a reader would
not notice: chat-template tokens left in the text (``<|im_start|>assistant``) and tables with
more cells in a row than their column specification has columns."""

from __future__ import annotations

import re

_CHAT_TOKEN = re.compile(r"<\|im_start\|>[a-z]*|<\|[A-Za-z_]{1,30}\|>")
_TABULAR = re.compile(r"\\begin\{tabular\}\s*(?:\[[a-z]\]\s*)?\{")


def strip_chat_tokens(body: str) -> tuple[str, int]:
    """``body`` without chat-template tokens; returns (body, how many were removed)."""
    found = _CHAT_TOKEN.findall(body)
    return (_CHAT_TOKEN.sub("", body), len(found)) if found else (body, 0)


def _group_end(s: str, i: int) -> int:
    """The index just after the ``}`` closing the group whose content starts at ``i``."""
    depth = 1
    while i < len(s) and depth:
        if s[i] == "\\":
            i += 2
            continue
        depth += {"{": 1, "}": -1}.get(s[i], 0)
        i += 1
    return i


def spec_columns(spec: str) -> int:
    """How many columns a tabular column specification declares (``l|cc*{3}{r}p{2cm}`` is 7)."""
    out, i = 0, 0
    while i < len(spec):
        c = spec[i]
        if c == "*" and i + 1 < len(spec) and spec[i + 1] == "{":
            end = _group_end(spec, i + 2)
            count = spec[i + 2 : end - 1].strip()
            if end < len(spec) and spec[end] == "{":
                inner_end = _group_end(spec, end + 1)
                n = int(count) if count.isdigit() else 1
                out += n * spec_columns(spec[end + 1 : inner_end - 1])
                i = inner_end
                continue
            i = end
            continue
        if c in "@!<>" and i + 1 < len(spec) and spec[i + 1] == "{":
            i = _group_end(spec, i + 2)
            continue
        if c in "pmbw" and i + 1 < len(spec) and spec[i + 1] == "{":
            out += 1
            i = _group_end(spec, i + 2)
            continue
        if c in "lcrXSL" or c in "CR":
            out += 1
        i += 1
    return out


def _row_cells(row: str) -> int:
    """Columns a table row spans: its top-level ``&`` + 1, a ``\\multicolumn{n}`` counting n."""
    cells, depth, i, n = 1, 0, 0, 0
    while i < len(row):
        c = row[i]
        if c == "\\":
            i += 2
            continue
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
        elif c == "&" and depth == 0:
            cells += 1
        i += 1
    for m in re.finditer(r"\\multicolumn\s*\{\s*(\d+)\s*\}", row):
        n += int(m.group(1)) - 1
    return cells + n


def widen_tabulars(body: str) -> tuple[str, int]:
    """``body`` with each ``tabular`` whose rows hold more cells than its specification has
    columns given the missing columns (centred); returns (body, how many were widened)."""
    out, pos, widened = [], 0, 0
    for m in _TABULAR.finditer(body):
        if m.start() < pos:
            continue
        spec_end = _group_end(body, m.end())
        spec = body[m.end() : spec_end - 1]
        close = body.find("\\end{tabular}", spec_end)
        if close < 0:
            continue
        rows = re.split(r"\\\\(?![A-Za-z])", body[spec_end:close])
        need = max((_row_cells(r) for r in rows if r.strip()), default=0)
        have = spec_columns(spec)
        if have and need > have:
            out.append(body[pos : m.end()] + spec + "c" * (need - have) + "}")
            pos = spec_end
            widened += 1
    out.append(body[pos:])
    return "".join(out), widened


__all__ = ["spec_columns", "strip_chat_tokens", "widen_tabulars"]
