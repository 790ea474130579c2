"""BibTeX and the training layout -> ``ReferenceSet``.

Parsing keeps every byte that lies between entries (blank lines, ``%`` comments, the exact
abstract lines), so a block that is already in the training layout renders back byte for byte.
Entries are cut out by brace matching and read in one pass each (``fields.read_fields``); an
entry that pass cannot take goes to bibtexparser, which reads it or says why. (Reading every entry
with bibtexparser, each with all ``@string`` blocks prepended, was slower than bibtexparser on the
whole file and blamed a repeated field on an unrelated duplicate ``@string``.) ``@string`` macros
are resolved here, in file order, with a table shared by the files given together (an
abbreviations file first).

Lenient like BibTeX: an entry that cannot be read is skipped with a warning naming its line and
its cause (``strict`` raises instead); a repeated field keeps its first value, as BibTeX does.
"""

from __future__ import annotations

import logging
import re
from bisect import bisect_left
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from ..errors import ReferencesError
from .clean import IDENTIFIER_FIELDS, LOCAL_FILE, LOCAL_PATH, clean_entry, dropped_fields
from .fields import _skip, _value_end, abstract_text, clean, group_end, read_fields, replace_value
from .layout import ABSTRACT_LINE, abstract_of, split_gap
from .record import Reference, ReferenceSet

#: an entry starts with ``@type{`` (or ``@type(``, as in older hand-kept files) at the start of a line
ENTRY_START = re.compile(r"^[ \t]*@[ \t]*([A-Za-z][\w-]*)[ \t]*[{(]", re.M)
_PARENS = re.compile(r'[{}()"]')
_NON_REFERENCE_BLOCKS = {"comment", "string", "preamble"}
_HEAD = re.compile(r"@\s*([A-Za-z][\w-]*)\s*[{(]\s*([^,\s})]*)")
_TITLE = re.compile(r"\btitle\s*=\s*[{\"]+([^}\"\n]*)", re.I)
_MAX_REPEAT_WARNINGS = 3
_COMMENT_LINE = re.compile(r"^[ \t]*%.*\n", re.M)
_MONTHS = {"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"}
_ENTRY_HEAD = re.compile(r"@[ \t]*([A-Za-z][\w-]*)[ \t]*[{(]\s*([^,\s{}()\"#=]*)\s*[,})]")
_STRING_HEAD = re.compile(r"@[ \t]*string[ \t]*[{(]\s*([^\s=#{}(),\"]+)\s*=\s*", re.I)
_MACRO_NAME = re.compile(r"^[A-Za-z_][\w:.+/'-]*$")


class _Lines:
    """Offsets -> 1-based line numbers by bisection (counting from the start each time made
    rendering quadratic in the number of entries)."""

    def __init__(self, text: str) -> None:
        self._newlines = [m.start() for m in re.finditer("\n", text)]

    def __call__(self, pos: int) -> int:
        return bisect_left(self._newlines, pos) + 1


def _paren_end(s: str, i: int, stop: int) -> int | None:
    """The ``)`` closing the ``@type(`` entry whose ``(`` is at ``s[i]`` (not one inside braces
    or a quoted value: ``title = "(re)consideration"``)."""
    depth, quoted = 0, False
    for m in _PARENS.finditer(s, i + 1, stop):
        c = m.group()
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
        elif c == '"' and depth == 0:
            quoted = not quoted
        elif c == ")" and depth == 0 and not quoted:
            return m.start()
    return None


@dataclass
class _Span:
    start: int
    end: int  # exclusive
    entry_type: str
    closed: bool
    last: bool  # no entry starts after this one


def _scan_entries(text: str) -> list[_Span]:
    """Cut ``@type{...}`` blocks out of the text by brace matching; an entry still open when the
    next line-start ``@type{`` appears is unclosed and runs up to that entry."""
    spans: list[_Span] = []
    starts = list(ENTRY_START.finditer(text))
    i = 0
    while i < len(starts):
        m = starts[i]
        start = m.start() + (len(m.group(0)) - len(m.group(0).lstrip(" \t")))
        next_start = starts[i + 1].start() if i + 1 < len(starts) else len(text)
        close = (group_end if text[m.end() - 1] == "{" else _paren_end)(text, m.end() - 1, next_start)
        if close is None:
            last = i + 1 >= len(starts)
            end = len(text) if last else start + len(text[start:next_start].rstrip())
            spans.append(_Span(start, end, m.group(1).lower(), closed=False, last=last))
            i += 1
            continue
        end = close + 1
        # entries that begin inside this one (a line-start '@' in a field value) are not entries
        while i < len(starts) and starts[i].start() < end:
            i += 1
        spans.append(_Span(start, end, m.group(1).lower(), closed=True, last=i >= len(starts)))
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


def _split(text: str) -> Any:
    """bibtexparser's blocks for ``text``: split only; macros and delimiters are ours to resolve."""
    import bibtexparser

    with _quiet_bibtexparser():
        return bibtexparser.parse_string(text, parse_stack=[])


def _cause(error: BaseException) -> str:
    """A parse error in BibTeX terms (bibtexparser's own words name its internals)."""
    reason = str(getattr(error, "abort_reason", "") or getattr(error, "message", "") or error)
    reason = " ".join(reason.split())
    if 'Was still looking for field-value closing `"`' in reason or 'closing "' in reason:
        return 'a value opened with " is never closed'
    if "Was still looking for field-value closing" in reason or "still looking for closing bracket" in reason:
        return "the entry is not closed (a '}' is missing)"
    if "Unexpectedly reached end of file" in reason:
        return "the entry is not closed before the end of the file"
    reason = reason.replace("after entry key", "after the field name")
    return reason or "not a BibTeX entry"


def _split_concat(value: str) -> list[str]:
    """``a # "b" # {c}`` -> its parts (``#`` outside braces and quotes)."""
    parts, depth, quoted, start = [], 0, False, 0
    for i, c in enumerate(value):
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
        elif c == '"' and depth == 0:
            quoted = not quoted
        elif c == "#" and depth == 0 and not quoted:
            parts.append(value[start:i])
            start = i + 1
    parts.append(value[start:])
    return parts


def resolve(value: str, macros: dict[str, str]) -> str:
    """A raw field value (``{...}``, ``"..."``, a number, a macro, or ``#`` concatenations) as text."""
    value = value.strip()
    if "#" not in value and len(value) >= 2 and (value[0], value[-1]) in (("{", "}"), ('"', '"')):
        return value[1:-1]  # the common case, without the general path
    parts = _split_concat(value) if "#" in value else [value]
    out = []
    for part in parts:
        part = part.strip()
        if len(part) >= 2 and (part[0], part[-1]) in (("{", "}"), ('"', '"')):
            out.append(part[1:-1])
        else:
            out.append(macros.get(part.lower(), part) if _MACRO_NAME.match(part) else part)
    return "".join(out)


def _entry_of(block: Any) -> tuple[Any, str | None]:
    """(the entry a bibtexparser block holds or None, the error when it holds none)."""
    from bibtexparser.model import DuplicateBlockKeyBlock, DuplicateFieldKeyBlock, Entry, ParsingFailedBlock

    if isinstance(block, Entry):
        return block, None
    if isinstance(block, (DuplicateBlockKeyBlock, DuplicateFieldKeyBlock)) and isinstance(
        block.ignore_error_block, Entry
    ):
        return block.ignore_error_block, None  # duplicates are handled (and reported) by us
    if isinstance(block, ParsingFailedBlock):
        return None, _cause(block.error)
    return None, "not a BibTeX entry"


def _resolved(
    items: Iterator[tuple[str, str, int]], macros: dict[str, str], undefined: set[str]
) -> tuple[dict[str, str], list[tuple[str, int]], list[str]]:
    """Resolved fields (a repeated field keeps its first value, as BibTeX), the repeated names,
    and the fields whose value uses a macro (the entry text alone does not say it); macros that
    have no definition go to ``undefined``."""
    fields: dict[str, str] = {}
    repeated: list[tuple[str, int]] = []  # (name, offset of the repeat in the entry; 0: unknown)
    uses_macros: list[str] = []
    for name, value, offset in items:
        if name in fields:
            repeated.append((name, offset))
            continue
        fields[name] = resolve(value, macros)
        if value[:1] not in ("{", '"'):
            names = [p.strip() for p in (_split_concat(value) if "#" in value else [value])]
            if any(_MACRO_NAME.match(n) for n in names):
                uses_macros.append(name)
                undefined.update(
                    n
                    for n in names
                    if _MACRO_NAME.match(n) and n.lower() not in macros and n.lower() not in _MONTHS
                )
    return fields, repeated, uses_macros


def _read_entry(
    raw: str, macros: dict[str, str], undefined: set[str]
) -> tuple[str, str, tuple[Any, ...]] | str:
    """(entry type, key, resolved fields...) of one entry, or the cause it cannot be read.

    Our one-pass reader takes the entries every exporter writes; what it cannot take goes to
    bibtexparser, which reads what it can and otherwise says why (in its words, translated)."""
    head = _ENTRY_HEAD.match(raw)
    spans, whole = read_fields(raw)
    if head is not None and head.group(2) and whole is True:
        items = ((name, raw[start:end].strip(), at) for name, at, start, end in spans)
        return head.group(1).lower(), head.group(2), _resolved(items, macros, undefined)
    blocks = _split(raw).blocks
    entry, error = _entry_of(blocks[0]) if blocks else (None, "not a BibTeX entry")
    if entry is None:
        return whole if isinstance(whole, str) else error or "not a BibTeX entry"
    items = ((f.key.lower(), str(f.value).strip(), 0) for f in entry.fields)
    return entry.entry_type.lower(), entry.key, _resolved(items, macros, undefined)


def _define(raw: str, macros: dict[str, str]) -> None:
    """Add the ``@string`` definition ``raw`` to ``macros`` (a later one wins, as in BibTeX)."""
    m = _STRING_HEAD.match(raw)
    if m is None:
        return
    end = _value_end(raw, m.end())
    k = _skip(raw, end)
    while k < len(raw) and raw[k] == "#":
        end = _value_end(raw, _skip(raw, k + 1))
        k = _skip(raw, end)
    macros[m.group(1).lower()] = resolve(raw[m.end() : end], macros)


def parse_bibtex(
    text: str, label: str, *, strict: bool, macros: dict[str, str] | None = None
) -> ReferenceSet:
    """BibTeX with or without ``abstract`` fields, or a block in the training layout.

    ``macros``: the ``@string`` table shared with the files read before this one (updated in place).
    """
    warnings: list[str] = []
    line_of = _Lines(text)
    spans = _scan_entries(text)
    macros = {} if macros is None else macros
    result = ReferenceSet(sources=[label])
    # a block that already has Abstract: lines is in the training layout: leave its entries alone
    layout = any(
        ABSTRACT_LINE.search(text, spans[i - 1].end if i else 0, s.start) for i, s in enumerate(spans)
    )
    gap_start = 0
    strings = 0
    repeats: list[tuple[int, str, list[str]]] = []  # (line, key, field names given twice)
    undefined: set[str] = set()  # @string macros used but never defined
    for span in spans:
        if span.entry_type in _NON_REFERENCE_BLOCKS:
            if span.entry_type == "string" and span.closed:
                strings += 1
                _define(text[span.start : span.end], macros)  # in order: BibTeX reads top to bottom
            continue  # stays in the text between references, verbatim
        gap = text[gap_start : span.start]
        raw = text[span.start : span.end]
        line = line_of(span.start)
        head = raw.split("\n", 1)[0].strip()[:60]
        parsed: tuple[str, str, dict[str, str]] | None = None
        uses_macros: list[str] = []
        if span.closed:
            if not layout and "%" in raw:
                # '%' lines inside an entry are meant as comments (BibTeX would choke on them)
                raw = _COMMENT_LINE.sub("", raw)
            read = _read_entry(raw, macros, undefined)
            if not isinstance(read, str):
                entry_type, key, (fields, repeated, uses_macros) = read
                if repeated:
                    # the line of the first repeat: that is where the fault is
                    at = line + raw.count("\n", 0, repeated[0][1])
                    repeats.append((at, key, sorted({name for name, _ in repeated})))
                parsed = entry_type, key, fields
            else:
                msg = f"{label}:{line}: cannot read the entry '{head}' ({read})"
                if strict:
                    raise ReferencesError(msg + "; fix the entry or remove it")
                if not layout:
                    warnings.append(msg + "; skipped (the rest is read)")
                    result.skipped += 1
                    gap_start = span.end
                    continue
                warnings.append(msg + "; kept as is")
        else:
            where = (
                "before the end of the input"
                if span.last
                else f"before the next entry at line {line_of(span.end + 1)}"
            )
            msg = f"{label}:{line}: the entry '{head}' is not closed {where} (unbalanced braces); add the missing '}}'"
            if strict:
                raise ReferencesError(msg)
            if not layout:  # a training-layout block keeps its cut-off entry (as trained)
                warnings.append(msg + "; skipped (the rest is read)")
                result.skipped += 1
                gap_start = span.end
                continue
            warnings.append(msg + "; kept as is")
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
        dropped = dropped_fields(fields) if parsed is not None else {}
        # identifiers among the dropped fields (PubMed's pmid, Mendeley's arxivId) still serve
        # enrichment; they reach neither the prompt nor the export
        ids = {k: fields[k] for k in dropped if k.lower() in IDENTIFIER_FIELDS and fields.get(k)}
        if not layout and parsed is not None:
            if dropped:
                # bookkeeping and local paths leave the entry (the rest stays as written)
                fields = {k: v for k, v in fields.items() if k not in dropped}
                raw = clean_entry(raw, dropped)
            for name in uses_macros:
                # a macro's value is written in, so neither the prompt nor references.bib
                # depends on @string blocks that stay behind (or live in another file)
                if name in fields and name not in ("month",):
                    raw = replace_value(raw, name, fields[name])
        elif dropped:
            # a training-layout block stays as written, but never with a path on the user's
            # machine in it (no training entry has one, so the released blocks still round-trip)
            local = {k for k, why in dropped.items() if why in (LOCAL_FILE, LOCAL_PATH)}
            if local:
                raw = clean_entry(raw, local)
        ref = Reference(
            key=key,
            entry_type=entry_type,
            fields=fields,
            title=clean(fields.get("title", "")),
            raw=raw,
            source=f"{label}:{line}",
            truncated=not span.closed,
        )
        ref.dropped = dropped
        ref.identifiers = ids
        lead, abstract_line = split_gap(gap)
        if abstract_line is not None:
            ref.abstract_line = abstract_line
            ref.abstract = abstract_of(abstract_line)
        elif fields.get("abstract", "").strip() and "abstract" not in dropped:
            ref.abstract = abstract_text(fields["abstract"])
            ref.abstract_in_entry = layout
        if result.references:
            ref.lead = lead
        else:
            # the first entry's lead is the block's header: it stays first even if this entry is dropped
            result.header = lead
        result.references.append(ref)
        gap_start = span.end
    if not result.references:
        if strings and not any(s.entry_type not in _NON_REFERENCE_BLOCKS for s in spans):
            result.warnings = warnings
            result.macros_only = True
            return result  # an abbreviations file: its @string table serves the files after it
        if spans and not strict:
            raise ReferencesError(
                f"{label}: none of its {len(spans)} entries could be read; " + "; ".join(warnings[:3])
            )
        first = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
        hint = f" (it starts with: {first[:60]!r})" if first else " (it is empty)"
        raise ReferencesError(
            f"{label}: no BibTeX entries found{hint}; is this a BibTeX file? "
            "Expected entries like '@article{key, title={...}, abstract={...}}'."
        )
    result.trailer = text[gap_start:]
    if len(repeats) <= _MAX_REPEAT_WARNINGS:
        warnings.extend(
            f"{label}:{line}: '{key}' gives the field {', '.join(repr(n) for n in names)} more than once; "
            "the first value is kept (as BibTeX does)"
            for line, key, names in repeats
        )
    elif repeats:
        names = sorted({n.lower() for _, _, ns in repeats for n in ns})
        where = ", ".join(f"line {line}" for line, _, _ in repeats[:_MAX_REPEAT_WARNINGS])
        warnings.append(
            f"{label}: {len(repeats)} entries give a field more than once ({', '.join(names[:5])}; {where}, ...); "
            "the first value is kept in each (as BibTeX does)"
        )
    if undefined:
        names = sorted(undefined)
        warnings.append(
            f"{label}: {len(names)} @string macro(s) used but not defined ({', '.join(names[:5])}"
            f"{', ...' if len(names) > 5 else ''}); their names stand in for their values. Give the file "
            "that defines them (e.g. IEEEabrv.bib) first: cycleresearcher references render ABBREV.bib FILE.bib"
        )
    result.warnings = warnings
    if not layout:
        # a plain .bib is not a training-layout block: use the canonical layout (one blank line
        # between entries; comments, @string, @preamble and @comment blocks such as JabRef's
        # group metadata stay out of the prompt)
        result.header = result.trailer = ""
        for r in result.references:
            r.lead = None
    return result
