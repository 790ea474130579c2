"""BibTeX and the training layout -> ``ReferenceSet``.

Parsing keeps every byte that lies between entries (blank lines, ``%`` comments, the exact
abstract lines), so a block that is already in the training layout renders back byte for byte.
Entries are cut out by brace matching and each one is read by bibtexparser.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from ..errors import ReferencesError
from .fields import clean, group_end
from .layout import ABSTRACT_LINE, abstract_of, line_of, split_gap
from .record import Reference, ReferenceSet

#: an entry starts with ``@type{`` at the start of a line (BibTeX itself also allows ``@type(``)
ENTRY_START = re.compile(r"^[ \t]*@[ \t]*([A-Za-z][\w-]*)[ \t]*\{", re.M)
_NON_REFERENCE_BLOCKS = {"comment", "string", "preamble"}
_HEAD = re.compile(r"@\s*([A-Za-z][\w-]*)\s*\{\s*([^,\s}]*)")
_TITLE = re.compile(r"\btitle\s*=\s*[{\"]+([^}\"\n]*)", re.I)


@dataclass
class _Span:
    start: int
    end: int  # exclusive
    entry_type: str
    closed: bool


def _scan_entries(text: str, label: str, strict: bool, warnings: list[str]) -> list[_Span]:
    """Cut ``@type{...}`` blocks out of the text by brace matching.

    An entry still open when the next line-start ``@type{`` appears is unclosed: an error (naming
    the line where it starts) unless ``strict`` is off.
    """
    spans: list[_Span] = []
    starts = list(ENTRY_START.finditer(text))
    i = 0
    while i < len(starts):
        m = starts[i]
        start = m.start() + (len(m.group(0)) - len(m.group(0).lstrip(" \t")))
        next_start = starts[i + 1].start() if i + 1 < len(starts) else len(text)
        close = group_end(text, m.end() - 1, next_start)
        if close is None:
            line = line_of(text, start)
            head = text[start : text.find("\n", start) if "\n" in text[start:] else len(text)].strip()
            where = (
                f"before the next entry at line {line_of(text, next_start)}"
                if i + 1 < len(starts)
                else "before the end of the input"
            )
            msg = f"{label}:{line}: the entry '{head[:60]}' is not closed {where} (unbalanced braces); add the missing '}}'"
            if strict:
                raise ReferencesError(msg)
            warnings.append(msg + "; kept as is")
            body = text[start:next_start]
            end = start + len(body.rstrip()) if i + 1 < len(starts) else len(text)
            spans.append(_Span(start, end, m.group(1).lower(), closed=False))
            i += 1
            continue
        end = close + 1
        spans.append(_Span(start, end, m.group(1).lower(), closed=True))
        # entries that begin inside this one (a line-start '@' in a field value) are not entries
        while i < len(starts) and starts[i].start() < end:
            i += 1
    return spans


@contextmanager
def _quiet_bibtexparser() -> Iterator[None]:
    """bibtexparser logs its own parse errors; we report them ourselves with file and line."""
    logger = logging.getLogger("bibtexparser")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)


def _parse_entry(raw: str, macros: str) -> tuple[str, str, dict[str, str]] | str:
    """(entry_type, key, fields) read by bibtexparser, or the error text."""
    import bibtexparser

    with _quiet_bibtexparser():
        lib = bibtexparser.parse_string(f"{macros}\n{raw}" if macros else raw)
    if lib.entries:
        e = lib.entries[0]
        return e.entry_type.lower(), e.key, {f.key.lower(): str(f.value) for f in e.fields}
    errors = [str(getattr(b, "error", "")) for b in lib.failed_blocks]
    return errors[0].splitlines()[-1].strip() if errors and errors[0] else "not a BibTeX entry"


def parse_bibtex(text: str, label: str, *, strict: bool) -> ReferenceSet:
    """BibTeX with or without ``abstract`` fields, or a block in the training layout."""
    warnings: list[str] = []
    spans = _scan_entries(text, label, strict, warnings)
    macros = "\n".join(text[s.start : s.end] for s in spans if s.entry_type == "string" and s.closed)
    result = ReferenceSet(sources=[label])
    # a block that already has Abstract: lines is in the training layout: leave its entries alone
    layout = any(
        ABSTRACT_LINE.search(text, spans[i - 1].end if i else 0, s.start) for i, s in enumerate(spans)
    )
    gap_start = 0
    for span in spans:
        if span.entry_type in _NON_REFERENCE_BLOCKS:
            continue  # stays in the text between references, verbatim
        gap = text[gap_start : span.start]
        raw = text[span.start : span.end]
        line = line_of(text, span.start)
        if span.closed:
            parsed = _parse_entry(raw, macros)
            if isinstance(parsed, str):
                msg = f"{label}:{line}: cannot read this BibTeX entry ({parsed})"
                if strict:
                    raise ReferencesError(msg + "; fix the entry or remove it")
                warnings.append(msg + "; kept as is")
                parsed = None
        else:
            parsed = None
        if parsed is None:
            m = _HEAD.match(raw)
            t = _TITLE.search(raw)
            entry_type, key = (
                (m.group(1).lower(), m.group(2))
                if m
                else (span.entry_type, f"ref{len(result.references) + 1}")
            )
            fields = {"title": t.group(1)} if t else {}
        else:
            entry_type, key, fields = parsed
        ref = Reference(
            key=key,
            entry_type=entry_type,
            fields=fields,
            title=clean(fields.get("title", "")),
            raw=raw,
            source=f"{label}:{line}",
            truncated=not span.closed,
        )
        lead, abstract_line = split_gap(gap)
        if abstract_line is not None:
            ref.abstract_line = abstract_line
            ref.abstract = abstract_of(abstract_line)
        elif fields.get("abstract", "").strip():
            ref.abstract = " ".join(fields["abstract"].split())
            ref.abstract_in_entry = layout
        if result.references:
            ref.lead = lead
        else:
            # the first entry's lead is the block's header: it stays first even if this entry is dropped
            result.header = lead
        result.references.append(ref)
        gap_start = span.end
    if not result.references:
        first = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
        hint = f" (it starts with: {first[:60]!r})" if first else " (it is empty)"
        raise ReferencesError(
            f"{label}: no BibTeX entries found{hint}; is this a BibTeX file? "
            "Expected entries like '@article{key, title={...}, abstract={...}}'."
        )
    result.trailer = text[gap_start:]
    result.warnings = warnings
    if not layout and any(r.abstract for r in result.references):
        # a plain .bib whose abstracts move to Abstract: lines is rewritten anyway: use the
        # canonical layout (one blank line between entries, comments outside entries dropped)
        result.header = result.trailer = ""
        for r in result.references:
            r.lead = None
    return result
