"""The text of BibTeX fields: a value as plain text, one entry written out, one field removed.

BibTeX counts every brace, escaped or not (``\\{`` inside a value still opens a group), so the
brace scanners here count raw braces; ``cycleresearcher.latex`` treats ``\\{`` as an escape,
which is right for LaTeX and wrong for a ``.bib`` file.
"""

from __future__ import annotations

import re

_FONT_COMMANDS = re.compile(r"\\(?:emph|text(?:it|bf|sc|tt|rm|sf|sl)|mathrm|mathcal|url)\s*\{")


def clean(value: str) -> str:
    """A field value as plain text: font commands and BibTeX braces removed, whitespace collapsed."""
    value = _FONT_COMMANDS.sub("{", value)
    return " ".join(value.replace("{", "").replace("}", "").split())


_BRACE = re.compile(r"[{}]")


def group_end(s: str, i: int, stop: int | None = None) -> int | None:
    """Index of the ``}`` that closes the ``{`` at ``s[i]`` (BibTeX counting: no escapes), or
    None when it does not close before ``stop`` (default: the end of ``s``)."""
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


def _value_end(raw: str, i: int) -> int:
    """The offset just after the field value that starts at ``raw[i]`` (braced, quoted or bare)."""
    if i < len(raw) and raw[i] == "{":
        end = group_end(raw, i)
        return len(raw) if end is None else end + 1
    if i < len(raw) and raw[i] == '"':
        depth, i = 0, i + 1
        while i < len(raw) and not (raw[i] == '"' and depth == 0 and raw[i - 1] != "\\"):
            depth += (raw[i] == "{") - (raw[i] == "}")
            i += 1
        return i + 1
    while i < len(raw) and raw[i] not in ",}\n":
        i += 1
    return i


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
