"""The text of BibTeX fields: a value as plain text, one entry written out, one field removed.

BibTeX counts every brace, escaped or not (``\\{`` inside a value still opens a group), so the
brace scanners here count raw braces; ``cycleresearcher.latex`` treats ``\\{`` as an escape,
which is right for LaTeX and wrong for a ``.bib`` file.
"""

from __future__ import annotations

import re
from functools import lru_cache

_FONT_COMMANDS = re.compile(r"\\(?:emph|text(?:it|bf|sc|tt|rm|sf|sl)|mathrm|mathcal|url)\s*\{")


def clean(value: str) -> str:
    """A field value as plain text: font commands and BibTeX braces removed, whitespace collapsed."""
    value = _FONT_COMMANDS.sub("{", value)
    return " ".join(value.replace("{", "").replace("}", "").split())


_BRACE = re.compile(r"[{}]")
#: a bare ``{GPU}`` / ``{Transformer}`` group: BibTeX case protection, not LaTeX (no command, no
#: ``^``/``_`` and no word character just before it, not a spaced ``\cmd {X}``, letters only inside)
_CASE_GROUP = re.compile(r"(\\[A-Za-z]+\s*)?(?<![\w\\^_}\]])\{([A-Za-z]*[A-Z][A-Za-z]*)\}")
_MATH = re.compile(r"(?<!\\)(\$\$?)")


def _unbrace(m: re.Match[str]) -> str:
    return m.group(0) if m.group(1) else m.group(2)  # '\mathrm {Cu}' is an argument, not protection


def abstract_text(value: str) -> str:
    """An ``abstract`` field's value for the ``Abstract:`` line: one line, without the braces
    that wrap the whole value (Web of Science writes ``Abstract = {{...}}``) and without bare
    case-protection groups (``{GPU}``) outside math. Other braces stay: the training abstracts
    keep their LaTeX (``\\textbf{D}``, ``$O(\\sqrt{T})$``), and ``{100}`` may be text."""
    value = " ".join(value.split())
    while value.startswith("{") and group_end(value, 0) == len(value) - 1:
        value = value[1:-1].strip()
    if "{" not in value:
        return value
    # split at unescaped $ / $$: text, delimiter, math, delimiter, text, ...; only text is un-braced
    parts = _MATH.split(value)
    for i in range(0, len(parts), 4):
        parts[i] = _CASE_GROUP.sub(_unbrace, parts[i])
    return "".join(parts)


def group_end(s: str, i: int, stop: int | None = None) -> int | None:
    """Index of the ``}`` that closes the ``{`` at ``s[i]`` (BibTeX counting: no escapes), or
    None when it does not close before ``stop`` (default: the end of ``s``)."""
    end = len(s) if stop is None else stop
    close = s.find("}", i + 1, end)
    if close >= 0 and s.find("{", i + 1, close) < 0:
        return close  # no group inside (most field values): one search in C
    depth = 0
    # the regex jumps from brace to brace: a character loop in Python was most of the load time
    for m in _BRACE.finditer(s, i, len(s) if stop is None else stop):
        if m.group() == "{":
            depth += 1
        else:
            depth -= 1
            if depth == 0:
                return m.start()
    return None


def balance(value: str) -> str:
    """Drop braces that would unbalance a ``{...}`` field value and close the ones left open
    (BibTeX counting: ``latex.balance`` would keep ``\\}`` and so leave the field unbalanced)."""
    depth, out = 0, []
    for c in value:
        if c == "}" and depth == 0:
            continue
        depth += (c == "{") - (c == "}")
        out.append(c)
    return "".join(out) + "}" * depth


def format_entry(entry_type: str, key: str, fields: dict[str, str]) -> str:
    """Google-Scholar-style BibTeX (the most common layout in the training blocks)."""
    lines = [f"@{entry_type}{{{key},"]
    items = [(k, v) for k, v in fields.items() if v]
    for n, (k, v) in enumerate(items):
        lines.append(f"  {k}={{{balance(v)}}}" + ("," if n + 1 < len(items) else ""))
    return "\n".join(lines) + "\n}"


_QUOTE_OR_BRACE = re.compile(r'["{}]')
_BARE_END = re.compile(r"[,}\n]")


def _value_end(raw: str, i: int) -> int:
    """The offset just after the field value that starts at ``raw[i]`` (braced, quoted or bare)."""
    if i < len(raw) and raw[i] == "{":
        end = group_end(raw, i)
        return len(raw) if end is None else end + 1
    if i < len(raw) and raw[i] == '"':
        depth = 0
        for m in _QUOTE_OR_BRACE.finditer(raw, i + 1):
            c = m.group()
            if c == "{":
                depth += 1
            elif c == "}":
                depth -= 1
            elif depth == 0 and raw[m.start() - 1] != "\\":
                return m.start() + 1
        return len(raw) + 1
    m = _BARE_END.search(raw, i)
    return m.start() if m else len(raw)


_FIELD_NAME = re.compile(r"\s*([^\s=,{}\"#()]+)\s*=\s*")
_BLANKS = " \t\n"


def _skip(raw: str, i: int, chars: str = _BLANKS) -> int:
    while i < len(raw) and raw[i] in chars:
        i += 1
    return i


def read_fields(raw: str) -> tuple[list[tuple[str, int, int, int]], bool | str]:
    """Each field of one entry as ``(lower-case name, name start, value start, value end)`` in a
    single pass (values may be ``#`` concatenations), and whether the whole entry was read (only
    the closing brace left after the last field); instead of False, the reason when it is known."""
    opening = min((i for i in (raw.find("{"), raw.find("(")) if i >= 0), default=-1)
    comma = raw.find(",", opening + 1) if opening >= 0 else -1
    spans: list[tuple[str, int, int, int]] = []
    if comma < 0:  # "@misc{key}": no fields at all
        return spans, opening >= 0 and raw[opening + 1 :].strip()[-1:] in ("}", ")")
    i = comma + 1
    while True:
        m = _FIELD_NAME.match(raw, i)
        if m is None:
            return spans, raw[i:].strip() in ("}", ")")
        j = _value_end(raw, m.end())
        k = _skip(raw, j)
        while k < len(raw) and raw[k] == "#":
            j = _value_end(raw, _skip(raw, k + 1))
            k = _skip(raw, j)
        if j > len(raw):
            return spans, 'a value opened with " is never closed'
        if j == m.end():
            return spans, f"the field '{m.group(1)}' has no value"
        spans.append((m.group(1).lower(), m.start(1), m.end(), j))
        if k >= len(raw) or raw[k] != ",":
            return spans, raw[k:].strip() in ("}", ")")
        i = k + 1


def field_spans(raw: str) -> list[tuple[str, int, int]]:
    """``(lower-case name, start of the name, end of the value)`` of each field of one entry."""
    return [(name, start, end) for name, start, _, end in read_fields(raw)[0]]


@lru_cache(maxsize=1024)
def _line_start_fields(names: frozenset[str]) -> re.Pattern[str]:
    alternatives = "|".join(sorted((re.escape(n) for n in names), key=len, reverse=True))
    return re.compile(rf"(?im)^[ \t]*({alternatives})[ \t]*=[ \t]*")


def _spans_of(raw: str, names: frozenset[str]) -> list[tuple[str, int, int]]:
    """The spans of the fields ``names``: found at line starts (one search for all of them: the
    layout of nearly every exporter), else by reading the whole entry (``field_spans``)."""
    found: list[tuple[str, int, int]] = []
    at = 0
    for m in _line_start_fields(names).finditer(raw):
        if m.start() < at:
            continue  # inside the value before
        end = _value_end(raw, m.end())
        k = _skip(raw, end)
        while k < len(raw) and raw[k] == "#":
            end = _value_end(raw, _skip(raw, k + 1))
            k = _skip(raw, end)
        found.append((m.group(1).lower(), m.start(1), end))
        at = end
    if len({name for name, _, _ in found}) < len(names):
        return [span for span in field_spans(raw) if span[0] in names]
    return found


def remove_fields(raw: str, names: set[str] | dict[str, str]) -> str:
    """``raw`` without the fields ``names`` (lower case), in one pass: each leaves with its comma
    and, when it had its own line, that line; the rest of the entry stays as written."""
    cuts: list[tuple[int, int, str]] = []
    for _name, start, end in _spans_of(raw, frozenset(names)):
        line_start = raw.rfind("\n", 0, start) + 1
        own_line = not raw[line_start:start].strip(" \t")
        k = _skip(raw, end, " \t")
        if k < len(raw) and raw[k] == ",":
            end = _skip(raw, k + 1, " \t")
            if own_line and end < len(raw) and raw[end] == "\n":
                cuts.append((line_start, end + 1, ""))
            else:
                cuts.append((start, end, ""))
        elif raw[_skip(raw, end) : _skip(raw, end) + 1] == ",":
            # comma-first style: the comma that follows opens the next line
            cuts.append((line_start if own_line else start, _skip(raw, end) + 1, ""))
        else:
            # the last field: it goes with the blanks before it; the closing brace keeps its line
            before = len(raw[:start].rstrip(_BLANKS))
            closing = _skip(raw, k)
            cuts.append((before, closing, "\n" if own_line else ""))
    if not cuts:
        return raw
    out, at = [], 0
    for start, end, replacement in cuts:
        if start < at:  # overlaps the cut before it (the last field after a removed one)
            start = at
            if replacement == "\n" and raw[:at].endswith("\n"):
                replacement = ""
        out.append(raw[at:start])
        out.append(replacement)
        at = max(at, end)
    out.append(raw[at:])
    return "".join(out)


_KEY_AT = re.compile(r"@[ \t]*[A-Za-z][\w-]*[ \t]*[{(]\s*|\\bibitem\s*(?:\[[^\]]*\])?\s*\{\s*")


def rename_key(raw: str, old: str, new: str) -> str:
    """``raw`` (a BibTeX entry or a ``\\bibitem``) with its key ``old`` written as ``new``."""
    m = _KEY_AT.search(raw)
    if m is None or not raw.startswith(old, m.end()):
        return raw
    return raw[: m.end()] + new + raw[m.end() + len(old) :]


def _field_start(raw: str, name: str) -> re.Match[str] | None:
    name = re.escape(name)
    return re.search(rf"(?im)^[ \t]*{name}[ \t]*=[ \t]*", raw) or re.search(
        rf"(?i)[,{{][ \t]*{name}[ \t]*=[ \t]*", raw
    )


def replace_value(raw: str, name: str, value: str) -> str:
    """``raw`` with the value of field ``name`` written as ``{value}`` (the rest untouched)."""
    m = _field_start(raw, name)
    if m is None:
        return raw
    return raw[: m.end()] + "{" + balance(value) + "}" + raw[_value_end(raw, m.end()) :]


def strip_field(raw: str, name: str) -> str:
    """``raw`` without the field ``name`` (and its comma), the rest of the entry untouched."""
    name = re.escape(name)
    m = re.search(rf"(?im)^[ \t]*{name}[ \t]*=[ \t]*", raw) or re.search(
        rf"(?i),[ \t]*{name}[ \t]*=[ \t]*", raw
    )
    if m is None:
        return raw
    i = _value_end(raw, m.end())
    if raw.startswith(",", m.start()):
        return raw[: m.start()] + raw[i:]  # ", abstract = {...}" inside a one-line entry
    j = i
    while j < len(raw) and raw[j] in " \t":
        j += 1
    if j < len(raw) and raw[j] == ",":
        j += 1
    while j < len(raw) and raw[j] in " \t":
        j += 1
    if j < len(raw) and raw[j] == "\n":
        return raw[: m.start()] + raw[j + 1 :]
    if raw[j:].lstrip().startswith("}"):
        # the last field: drop it and its line break, so the closing brace follows the field before
        k = m.start()
        while k > 0 and raw[k - 1] in " \t\n":
            k -= 1
        return raw[:k] + "\n" + raw[j:].lstrip(" \t")
    return raw[: m.start()] + raw[j:]
