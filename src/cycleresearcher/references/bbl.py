"""A ``thebibliography`` / ``\\bibitem`` list (a ``.bbl`` file) -> ``ReferenceSet``."""

from __future__ import annotations

import re

from .fields import clean
from .layout import ABSTRACT_LINE, abstract_of, line_of, split_gap
from .record import Reference, ReferenceSet

BIBITEM = re.compile(r"^[ \t]*\\bibitem\b", re.M)
_BIB_END = re.compile(r"^[ \t]*\\end\{thebibliography\}", re.M)


def _bibitem_key(raw: str) -> tuple[str | None, int]:
    """The key of ``\\bibitem[optional label, may nest {} and span lines]{key}`` and the offset
    just after it. The label counts ``[`` and ``{`` as one depth (natbib labels hold both), which
    no brace-only scanner of ``cycleresearcher.latex`` does."""
    i = raw.index("\\bibitem") + len("\\bibitem")
    while i < len(raw) and raw[i].isspace():
        i += 1
    if i < len(raw) and raw[i] == "[":
        depth = 0
        while i < len(raw):
            c = raw[i]
            depth += c in "[{"
            depth -= c in "]}"
            i += 1
            if depth == 0:
                break
    while i < len(raw) and raw[i].isspace():
        i += 1
    if i < len(raw) and raw[i] == "{":
        j = raw.find("}", i)  # a citation key holds no braces
        if j > i:
            return raw[i + 1 : j].strip(), j + 1
    return None, i


def parse_bibitems(text: str, label: str) -> ReferenceSet:
    """One reference per ``\\bibitem``; the title is the first ``\\newblock`` (natbib / plainnat
    layout). ``Abstract:`` lines between items are read as in the training layout."""
    result = ReferenceSet(sources=[label])
    starts = [m.start() + len(m.group(0)) - len(m.group(0).lstrip(" \t")) for m in BIBITEM.finditer(text)]
    gap_start = 0
    for n, start in enumerate(starts):
        stop = starts[n + 1] if n + 1 < len(starts) else len(text)
        for pattern in (_BIB_END, ABSTRACT_LINE):
            m = pattern.search(text, start, stop)
            if m:
                stop = min(stop, m.start())
        raw = text[start:stop].rstrip()
        end = start + len(raw)
        key, after_key = _bibitem_key(raw)
        blocks = [b.strip() for b in raw[after_key:].split("\\newblock")]
        # natbib / plainnat: authors, then one \newblock for the title, then venue and year
        title = clean(blocks[1]).rstrip(".") if len(blocks) > 1 else ""
        fields = {"author": " ".join(blocks[0].split()), "title": title}
        fields["note"] = (
            " ".join(" ".join(b.split()) for b in blocks[2:] if b)
            if title
            else " ".join(raw[after_key:].split())
        )
        ref = Reference(
            key=key or f"ref{n + 1}",
            entry_type="bibitem",
            fields={k: v for k, v in fields.items() if v},
            title=title,
            raw=raw,
            source=f"{label}:{line_of(text, start)}",
        )
        lead, abstract_line = split_gap(text[gap_start:start])
        if abstract_line is not None:
            ref.abstract_line = abstract_line
            ref.abstract = abstract_of(abstract_line)
        if result.references:
            ref.lead = lead
        else:
            result.header = lead
        result.references.append(ref)
        gap_start = end
    result.trailer = text[gap_start:]
    return result
