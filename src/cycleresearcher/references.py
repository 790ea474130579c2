"""References: .bib / training-layout blocks / ``.bbl`` / paper-record JSON -> ``Reference`` list ->
the training-layout block the CycleResearcher prompt is made of.

The training layout (FORMATS.md section 1) is BibTeX entries separated by blank lines, where an
entry with an abstract is PRECEDED by one line ``Abstract: <text>``::

    @article{a2020,
      title={...}
    }

    Abstract: The abstract of b.
    @inproceedings{b2021,
      ...
    }

Parsing keeps every byte that lies between entries (blank lines, ``%`` comments, the exact
abstract lines), so a block that is already in that layout renders back byte for byte. Entries
are cut out by brace matching and each one is read by bibtexparser; an ``Abstract:`` line is only
recognised at the start of a line outside an entry.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Union

from . import safejson
from .errors import ContextLengthError, ReferencesError

PathLike = Union[str, os.PathLike]

#: an entry starts with ``@type{`` at the start of a line (BibTeX itself also allows ``@type(``)
_ENTRY_START = re.compile(r"^[ \t]*@[ \t]*([A-Za-z][\w-]*)[ \t]*\{", re.M)
_ABSTRACT_LINE = re.compile(r"^Abstract:", re.M)
_BIBITEM = re.compile(r"^[ \t]*\\bibitem\b", re.M)
_BIB_END = re.compile(r"^[ \t]*\\end\{thebibliography\}", re.M)
_NON_REFERENCE_BLOCKS = {"comment", "string", "preamble"}
#: more missing abstracts than this are reported as one warning instead of one per entry
_MAX_INDIVIDUAL_WARNINGS = 5


@dataclass
class Reference:
    """One cited work.

    ``raw`` is the entry text as given (BibTeX entry or ``\\bibitem``), used verbatim when
    rendering. ``lead`` and ``abstract_line`` record the exact text before the entry in a
    training-layout block (``None``: not parsed from such a block, render canonically).
    """

    key: str
    entry_type: str = "misc"
    fields: dict[str, str] = dataclasses.field(default_factory=dict)
    title: str = ""
    abstract: str | None = None
    raw: str | None = None
    source: str = ""
    lead: str | None = dataclasses.field(default=None, repr=False)
    abstract_line: str | None = dataclasses.field(default=None, repr=False)
    #: the abstract is an ``abstract`` field that stays inside the entry (a training-layout block
    #: where this entry had no ``Abstract:`` line): no line is added when rendering
    abstract_in_entry: bool = dataclasses.field(default=False, repr=False)
    #: the entry's braces never close (a cut-off block, read with ``strict=False``)
    truncated: bool = False

    def entry_text(self) -> str:
        """The entry as it appears in the training layout: the raw text without an ``abstract``
        field when the abstract moved to the ``Abstract:`` line, else a generated entry."""
        if self.raw is not None:
            if self.abstract_line is None and not self.abstract_in_entry and "abstract" in self.fields:
                return _strip_field(self.raw, "abstract")
            return self.raw
        return _format_entry(
            self.entry_type, self.key, {k: v for k, v in self._all_fields().items() if k != "abstract"}
        )

    def _all_fields(self) -> dict[str, str]:
        """``fields`` with the title filled in (a Reference built in code may only set ``title``)."""
        if self.title and not self.fields.get("title"):
            return {"title": self.title, **self.fields}
        return self.fields

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "entry_type": self.entry_type,
            "title": self.title,
            "abstract": self.abstract,
            "fields": dict(self.fields),
            "bibtex": self.entry_text(),
            "source": self.source,
            "truncated": self.truncated,
        }


@dataclass
class ReferenceSet:
    """References read from one or more inputs, with the warnings met on the way.

    ``header`` / ``trailer``: text before the first and after the last entry of a training-layout
    block, kept so that an unchanged block renders back byte for byte.
    """

    references: list[Reference] = dataclasses.field(default_factory=list)
    warnings: list[str] = dataclasses.field(default_factory=list)
    sources: list[str] = dataclasses.field(default_factory=list)
    header: str = ""
    trailer: str = ""

    def __len__(self) -> int:
        return len(self.references)

    def __iter__(self) -> Iterator[Reference]:
        return iter(self.references)

    def __getitem__(self, index: int) -> Reference:
        return self.references[index]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready; ``load_references`` reads this shape back (it is a record with ``references``)."""
        return {
            "sources": list(self.sources),
            "warnings": list(self.warnings),
            "references": [r.to_dict() for r in self.references],
        }


@dataclass
class FitResult:
    """``kept`` in their original order; ``dropped`` least relevant first; ``tokens`` of the kept prompt."""

    kept: list[Reference]
    dropped: list[Reference]
    tokens: int
    scores: dict[str, float] = dataclasses.field(default_factory=dict)


# ----------------------------------------------------------------------------------------------
# loading


def load_references(
    source: PathLike | bytes | ReferenceSet | Sequence[PathLike] | Sequence[Reference],
    *,
    strict: bool = True,
    name: str | None = None,
) -> ReferenceSet:
    """Read references from files or text, detecting the format.

    ``source``: a path, text content (a string with a newline or starting like BibTeX / JSON),
    bytes, a list of paths (merged in order) or a list of ``Reference``. Formats: BibTeX with or
    without ``abstract`` fields, the training layout (``Abstract:`` line before its entry), a
    ``thebibliography`` / ``\\bibitem`` list, paper-record JSON (a record with ``references:
    [{title, abstract, ...}]``, a list of records, or a list of references).

    ``strict=False`` keeps an entry whose braces never close (a cut-off block) with a warning
    instead of raising. Raises ``ReferencesError`` naming the file and line.
    """
    if isinstance(source, ReferenceSet):
        return source
    if isinstance(source, (list, tuple)):
        if not source:
            raise ReferencesError("No references given: pass a .bib, .bbl or paper-record .json file.")
        if all(isinstance(s, Reference) for s in source):
            return _finish(ReferenceSet(references=list(source), sources=[name or "<references>"]))
        parts = [_load_one(s, strict=strict, name=None) for s in source]
        merged = ReferenceSet(header=parts[0].header, trailer=parts[-1].trailer)
        for part in parts:
            merged.references.extend(part.references)
            merged.warnings.extend(part.warnings)
            merged.sources.extend(part.sources)
        return _finish(merged)
    return _finish(_load_one(source, strict=strict, name=name))


def _load_one(source: PathLike | bytes, *, strict: bool, name: str | None) -> ReferenceSet:
    warnings: list[str] = []
    if isinstance(source, bytes):
        text, label = _decode(source, name or "<bytes>", warnings), name or "<bytes>"
    elif isinstance(source, str) and _looks_like_content(source):
        text, label = source, name or "<text>"
    else:
        path = Path(source)
        label = name or str(source)
        if not path.exists() or path.is_dir():  # pipes such as /dev/stdin are fine
            what = "is a directory" if path.is_dir() else "does not exist"
            raise ReferencesError(f"{label}: {what}; pass a .bib, .bbl or paper-record .json file.")
        text = _decode(path.read_bytes(), label, warnings)
    # the released models were trained on LF text; CRLF files (Windows, BibTeX exports) are common
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    refs = parse_text(text, label, strict=strict)
    refs.warnings[:0] = warnings
    return refs


def _looks_like_content(value: str) -> bool:
    head = value.lstrip()[:20]
    return "\n" in value or head.startswith(("@", "[", "{", "Abstract:", "\\bibitem", "\\begin"))


def _decode(data: bytes, label: str, warnings: list[str]) -> str:
    if b"\x00" in data[:4096]:
        raise ReferencesError(
            f"{label}: this is a binary file, not BibTeX or JSON; pass a .bib, .bbl or .json file."
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        warnings.append(
            f"{label}:{line}: not valid UTF-8; read as Latin-1 (save the file as UTF-8 to silence this)"
        )
        return data.decode("latin-1")


def parse_text(text: str, label: str = "<text>", *, strict: bool = True) -> ReferenceSet:
    """Parse already-decoded text (LF line endings), detecting JSON, ``\\bibitem`` lists and BibTeX."""
    stripped = text.lstrip()
    if stripped.startswith(("[", "{")):
        return _parse_json(text, label)
    if _BIBITEM.search(text) and not _ENTRY_START.search(text):
        return _parse_bibitems(text, label)
    return _parse_bibtex(text, label, strict=strict)


# -- BibTeX and the training layout -------------------------------------------------------------


@dataclass
class _Span:
    start: int
    end: int  # exclusive
    entry_type: str
    closed: bool


def _line_of(text: str, pos: int) -> int:
    return text.count("\n", 0, pos) + 1


def _scan_entries(text: str, label: str, strict: bool, warnings: list[str]) -> list[_Span]:
    """Cut ``@type{...}`` blocks out of the text by brace matching.

    An entry still open when the next line-start ``@type{`` appears is unclosed: an error (naming
    the line where it starts) unless ``strict`` is off.
    """
    spans: list[_Span] = []
    starts = list(_ENTRY_START.finditer(text))
    i = 0
    while i < len(starts):
        m = starts[i]
        start = m.start() + (len(m.group(0)) - len(m.group(0).lstrip(" \t")))
        next_start = starts[i + 1].start() if i + 1 < len(starts) else len(text)
        depth = 0
        end = None
        for b in re.finditer(r"[{}]", text[m.end() - 1 : next_start]):
            depth += 1 if b.group() == "{" else -1
            if depth == 0:
                end = m.end() - 1 + b.end()
                break
        if end is None:
            line = _line_of(text, start)
            head = text[start : text.find("\n", start) if "\n" in text[start:] else len(text)].strip()
            where = (
                f"before the next entry at line {_line_of(text, next_start)}"
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


_HEAD = re.compile(r"@\s*([A-Za-z][\w-]*)\s*\{\s*([^,\s}]*)")
_TITLE = re.compile(r"\btitle\s*=\s*[{\"]+([^}\"\n]*)", re.I)


def _parse_bibtex(text: str, label: str, *, strict: bool) -> ReferenceSet:
    warnings: list[str] = []
    spans = _scan_entries(text, label, strict, warnings)
    macros = "\n".join(text[s.start : s.end] for s in spans if s.entry_type == "string" and s.closed)
    result = ReferenceSet(sources=[label])
    # a block that already has Abstract: lines is in the training layout: leave its entries alone
    layout = any(
        _ABSTRACT_LINE.search(text, spans[i - 1].end if i else 0, s.start) for i, s in enumerate(spans)
    )
    gap_start = 0
    for span in spans:
        if span.entry_type in _NON_REFERENCE_BLOCKS:
            continue  # stays in the text between references, verbatim
        gap = text[gap_start : span.start]
        raw = text[span.start : span.end]
        line = _line_of(text, span.start)
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
            title=_clean(fields.get("title", "")),
            raw=raw,
            source=f"{label}:{line}",
            truncated=not span.closed,
        )
        lead, abstract_line = _split_gap(gap)
        if abstract_line is not None:
            ref.abstract_line = abstract_line
            ref.abstract = abstract_line[len("Abstract:") :].strip() or None
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


def _split_gap(gap: str) -> tuple[str, str | None]:
    """Text between entries -> (lead, the ``Abstract: ...`` text up to the entry, or None)."""
    m = _ABSTRACT_LINE.search(gap)
    if m is None:
        return gap, None
    return gap[: m.start()], gap[m.start() :]


# -- thebibliography / \bibitem ---------------------------------------------------------------


def _bibitem_key(raw: str) -> tuple[str | None, int]:
    """The key of ``\\bibitem[optional label, may nest {} and span lines]{key}`` and the offset
    just after it."""
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
        j = raw.find("}", i)
        if j > i:
            return raw[i + 1 : j].strip(), j + 1
    return None, i


def _parse_bibitems(text: str, label: str) -> ReferenceSet:
    """A ``thebibliography`` list (a .bbl file): one reference per ``\\bibitem``; the title is the
    first ``\\newblock`` (natbib / plainnat layout)."""
    result = ReferenceSet(sources=[label])
    starts = [m.start() + len(m.group(0)) - len(m.group(0).lstrip(" \t")) for m in _BIBITEM.finditer(text)]
    gap_start = 0
    for n, start in enumerate(starts):
        stop = starts[n + 1] if n + 1 < len(starts) else len(text)
        for pattern in (_BIB_END, _ABSTRACT_LINE):
            m = pattern.search(text, start, stop)
            if m:
                stop = min(stop, m.start())
        raw = text[start:stop].rstrip()
        end = start + len(raw)
        key, after_key = _bibitem_key(raw)
        blocks = [b.strip() for b in raw[after_key:].split("\\newblock")]
        # natbib / plainnat: authors, then one \newblock for the title, then venue and year
        title = _clean(blocks[1]).rstrip(".") if len(blocks) > 1 else ""
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
            source=f"{label}:{_line_of(text, start)}",
        )
        lead, abstract_line = _split_gap(text[gap_start:start])
        if abstract_line is not None:
            ref.abstract_line = abstract_line
            ref.abstract = abstract_line[len("Abstract:") :].strip() or None
        if result.references:
            ref.lead = lead
        else:
            result.header = lead
        result.references.append(ref)
        gap_start = end
    result.trailer = text[gap_start:]
    return result


# -- paper-record JSON ------------------------------------------------------------------------


def _parse_json(text: str, label: str) -> ReferenceSet:
    try:
        data = safejson.loads(text, label)
    except json.JSONDecodeError as exc:
        raise ReferencesError(
            f"{label}:{exc.lineno}: not valid JSON ({exc.msg} at column {exc.colno}); fix the JSON or pass a .bib file"
        ) from exc
    shape = (
        "expected a paper record with 'references': [{title, abstract, ...}], a list of such records, "
        "or a list of references"
    )
    lists: list[tuple[str, list[Any]]]
    if isinstance(data, dict) and isinstance(data.get("references"), list):
        lists = [("references", data["references"])]
    elif (
        isinstance(data, list)
        and data
        and all(isinstance(r, dict) and isinstance(r.get("references"), list) for r in data)
    ):
        lists = [(f"[{i}].references", r["references"]) for i, r in enumerate(data)]
    elif isinstance(data, list) and data and all(isinstance(r, dict) for r in data):
        lists = [("", data)]
    else:
        raise ReferencesError(f"{label}: unexpected JSON shape; {shape}.")
    result = ReferenceSet(sources=[label])
    taken: set[str] = set()
    for prefix, items in lists:
        for i, item in enumerate(items):
            where = f"{label}:{prefix}[{i}]"
            if not isinstance(item, dict):
                raise ReferencesError(
                    f"{where}: a reference must be an object with 'title' and 'abstract'; {shape}."
                )
            result.references.append(_reference_from_dict(item, where, taken))
    if not result.references:
        raise ReferencesError(f"{label}: the JSON holds no references; {shape}.")
    return result


def _reference_from_dict(item: dict[str, Any], where: str, taken: set[str]) -> Reference:
    abstract = item.get("abstract")
    abstract = " ".join(str(abstract).split()) or None if abstract else None
    bibtex = item.get("bibtex") or item.get("raw")
    if isinstance(bibtex, str) and bibtex.strip():
        parsed = parse_text(bibtex.replace("\r\n", "\n").strip(), where).references[0]
        parsed.source = where
        if abstract is not None:
            parsed.abstract = abstract
        if item.get("title"):
            parsed.title = _clean(str(item["title"]))
        taken.add(parsed.key)
        return parsed
    title = str(item.get("title") or "").strip()
    if not title:
        raise ReferencesError(f"{where}: this reference has neither a 'title' nor a 'bibtex' entry; add one.")
    fields: dict[str, str] = {"title": title}
    authors = item.get("authors", item.get("author"))
    if isinstance(authors, list):
        names = [a.get("name", "") if isinstance(a, dict) else a for a in authors]
        bad = next((n for n in names if n is not None and not isinstance(n, str)), None)
        if bad is not None:
            raise ReferencesError(
                f"{where}: author names must be text, not {type(bad).__name__} ({bad!r}); "
                'write "authors": ["Ada Lovelace", ...] or [{"name": "Ada Lovelace"}, ...].'
            )
        authors = " and ".join(n for n in names if n)
    elif authors is not None and not isinstance(authors, str):
        raise ReferencesError(
            f"{where}: 'authors' must be text or a list of names, not {type(authors).__name__}; "
            'write "authors": ["Ada Lovelace", ...].'
        )
    if authors:
        fields["author"] = authors
    if item.get("venue") or item.get("journal"):
        fields["journal"] = str(item.get("venue") or item.get("journal"))
    if item.get("year"):
        fields["year"] = str(item["year"])
    if isinstance(item.get("fields"), dict):
        fields.update({str(k).lower(): str(v) for k, v in item["fields"].items() if k != "abstract"})
    key = str(item.get("key") or item.get("citationKey") or item.get("ID") or _make_key(fields, taken))
    taken.add(key)
    return Reference(
        key=key,
        entry_type=str(item.get("entry_type") or item.get("ENTRYTYPE") or "misc").lower(),
        fields=fields,
        title=_clean(title),
        abstract=abstract,
        source=where,
    )


_STOP_WORDS = {
    "a",
    "an",
    "the",
    "on",
    "of",
    "in",
    "for",
    "and",
    "to",
    "towards",
    "toward",
    "with",
    "is",
    "are",
    "via",
    "from",
}


def _ascii_word(text: str) -> str:
    return re.sub(
        r"[^a-z0-9]", "", unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    )


def _make_key(fields: dict[str, str], taken: set[str]) -> str:
    """Google-Scholar-style key ``lastname2020firstword``, unique within the set."""
    author = fields.get("author", "").split(" and ")[0].strip()
    last = author.split(",")[0] if "," in author else (author.split()[-1] if author.split() else "")
    words = [_ascii_word(w) for w in _clean(fields.get("title", "")).split()]
    first = next((w for w in words if w and w not in _STOP_WORDS), "")
    base = f"{_ascii_word(last)}{_ascii_word(fields.get('year', ''))}{first}" or "ref"
    key, n = base, 1
    while key in taken:
        n += 1
        key = f"{base}{n}"
    return key


# -- checks over the whole set ----------------------------------------------------------------


def _finish(refs: ReferenceSet) -> ReferenceSet:
    """Add the warnings that need the whole set: duplicate keys, entries without abstract."""
    seen: dict[str, Reference] = {}
    for r in refs.references:
        if r.key in seen:
            refs.warnings.append(
                f"{r.source}: duplicate key '{r.key}' (first at {seen[r.key].source}); both stay in the prompt, "
                "only the first goes to references.bib"
            )
        else:
            seen[r.key] = r
    missing = [r for r in refs.references if not r.abstract]
    if 0 < len(missing) <= _MAX_INDIVIDUAL_WARNINGS:
        for r in missing:
            refs.warnings.append(
                f"{r.source}: '{r.key}' has no abstract; the model sees only its BibTeX entry"
            )
    elif missing:
        keys = ", ".join(r.key for r in missing[:_MAX_INDIVIDUAL_WARNINGS])
        refs.warnings.append(
            f"{len(missing)} of {len(refs.references)} references have no abstract ({keys}, ...); the model sees only "
            "their BibTeX entries (add abstract = {...} fields for better papers)"
        )
    return refs


# ----------------------------------------------------------------------------------------------
# rendering


def render_references(refs: ReferenceSet | Iterable[Reference]) -> str:
    """The training-layout block: entries separated by blank lines, each abstract on one
    ``Abstract: <text>`` line just before its entry. A set parsed from a block in that layout
    renders back byte for byte; a list of references (e.g. ``FitResult.kept``) keeps each
    entry's own spacing and drops the block's header and trailer."""
    if isinstance(refs, ReferenceSet):
        items, header, trailer = refs.references, refs.header, refs.trailer
    else:
        items, header, trailer = list(refs), "", ""
    parts = [header]
    for i, r in enumerate(items):
        lead = r.lead
        if lead is None:
            lead = "" if i == 0 else "\n\n"
        elif i == 0:
            lead = lead.lstrip()  # an entry that moved to the front (its neighbour was dropped)
        elif "\n" not in lead:
            lead = "\n\n" + lead  # the old first entry, now after another one
        parts.append(lead)
        if r.abstract and not (r.abstract_in_entry and r.raw is not None):
            same = r.abstract_line is not None and r.abstract_line[len("Abstract:") :].strip() == r.abstract
            parts.append(r.abstract_line if same else f"Abstract: {r.abstract}\n")
        parts.append(r.entry_text())
    parts.append(trailer)
    return "".join(parts)


def to_bibtex(refs: ReferenceSet | Iterable[Reference]) -> str:
    """Plain BibTeX for a LaTeX project's references.bib: one entry per key (the first wins), no
    ``Abstract:`` lines, cut-off entries left out (they would break BibTeX)."""
    seen: set[str] = set()
    out: list[str] = []
    for r in refs:
        if r.key in seen or r.truncated:
            continue
        seen.add(r.key)
        if r.raw is not None and r.entry_type != "bibitem":
            out.append(r.raw.strip())
        else:
            out.append(
                _format_entry("misc" if r.entry_type == "bibitem" else r.entry_type, r.key, r._all_fields())
            )
    return "\n\n".join(out) + "\n" if out else ""


def _format_entry(entry_type: str, key: str, fields: dict[str, str]) -> str:
    """Google-Scholar-style BibTeX (the most common layout in the training blocks)."""
    lines = [f"@{entry_type}{{{key},"]
    items = [(k, v) for k, v in fields.items() if v]
    for n, (k, v) in enumerate(items):
        lines.append(f"  {k}={{{_balance(v)}}}" + ("," if n + 1 < len(items) else ""))
    return "\n".join(lines) + "\n}"


def _balance(value: str) -> str:
    """Drop braces that would unbalance a ``{...}`` field value."""
    depth, out = 0, []
    for c in value:
        if c == "}" and depth == 0:
            continue
        depth += (c == "{") - (c == "}")
        out.append(c)
    return "".join(out) + "}" * depth


_FONT_COMMANDS = re.compile(r"\\(?:emph|text(?:it|bf|sc|tt|rm|sf|sl)|mathrm|mathcal|url)\s*\{")


def _clean(value: str) -> str:
    """A field value as plain text: font commands and BibTeX braces removed, whitespace collapsed."""
    value = _FONT_COMMANDS.sub("{", value)
    return " ".join(value.replace("{", "").replace("}", "").split())


def _strip_field(raw: str, name: str) -> str:
    """``raw`` without the field ``name`` (and its comma), the rest of the entry untouched."""
    m = re.search(rf"(?im)^[ \t]*{name}[ \t]*=[ \t]*", raw) or re.search(
        rf"(?i),[ \t]*{name}[ \t]*=[ \t]*", raw
    )
    if m is None:
        return raw
    i = m.end()
    if i < len(raw) and raw[i] == "{":
        depth = 0
        while i < len(raw):
            depth += (raw[i] == "{") - (raw[i] == "}")
            i += 1
            if depth == 0:
                break
    elif i < len(raw) and raw[i] == '"':
        depth, i = 0, i + 1
        while i < len(raw) and not (raw[i] == '"' and depth == 0 and raw[i - 1] != "\\"):
            depth += (raw[i] == "{") - (raw[i] == "}")
            i += 1
        i += 1
    else:
        while i < len(raw) and raw[i] not in ",}\n":
            i += 1
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


# ----------------------------------------------------------------------------------------------
# fitting a context budget


def relevance_scores(refs: Sequence[Reference], topic: str | None = None) -> list[float]:
    """TF-IDF cosine of each reference (title + abstract) to the topic, or to the centroid of the
    set when there is no topic. All zeros when the texts share no words."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.metrics.pairwise import cosine_similarity

    docs = [f"{r.title} {r.abstract or ''}".strip() or r.key for r in refs]
    try:
        vectorizer = TfidfVectorizer(stop_words="english", sublinear_tf=True)
        matrix = vectorizer.fit_transform(docs + ([topic] if topic else []))
    except ValueError:  # empty vocabulary: nothing to rank by
        return [0.0] * len(refs)
    if topic:
        query = matrix[len(docs) :]
        matrix = matrix[: len(docs)]
    else:
        query = matrix.mean(axis=0)
        query = query.A if hasattr(query, "A") else query
    return [float(s) for s in cosine_similarity(matrix, query).ravel()]


def fit_references(
    refs: ReferenceSet | Sequence[Reference],
    count_tokens: Callable[[list[Reference]], int],
    budget: int,
    topic: str | None = None,
) -> FitResult:
    """Drop the least relevant references until ``count_tokens(kept) <= budget``.

    ``count_tokens`` measures the whole prompt built from a list of references (so the caller
    decides how: chat template, system prompt, room for the answer). Relevance is TF-IDF cosine to
    ``topic`` (or to the set's centroid); ties drop later references first. The number to drop is
    found by bisection, so ``count_tokens`` runs O(log n) times. Raises ``ContextLengthError`` when
    even the single most relevant reference does not fit.
    """
    items = list(refs)
    total = count_tokens(items)
    if total <= budget:
        return FitResult(kept=items, dropped=[], tokens=total)
    if not items:
        raise ContextLengthError(
            f"The prompt needs {total} tokens even without references (budget {budget}); use a model with a longer context."
        )
    scores = relevance_scores(items, topic)
    # least relevant first; among equals, later ones go first
    order = sorted(range(len(items)), key=lambda i: (scores[i], -i))

    def keep_after_dropping(k: int) -> list[Reference]:
        gone = set(order[:k])
        return [r for i, r in enumerate(items) if i not in gone]

    lo, hi = 1, len(items) - 1  # drop at least one, keep at least one
    best: tuple[int, int] | None = None
    while lo <= hi:
        mid = (lo + hi) // 2
        tokens = count_tokens(keep_after_dropping(mid))
        if tokens <= budget:
            best, hi = (mid, tokens), mid - 1
        else:
            lo = mid + 1
    if best is None:
        top = items[order[-1]]
        raise ContextLengthError(
            f"The prompt does not fit the {budget}-token budget even with only the most relevant reference "
            f"('{top.key}'); use a model with a longer context or shorter references."
        )
    k, tokens = best
    return FitResult(
        kept=keep_after_dropping(k),
        dropped=[items[i] for i in order[:k]],
        tokens=tokens,
        scores={items[i].key: scores[i] for i in range(len(items))},
    )


__all__ = [
    "FitResult",
    "Reference",
    "ReferenceSet",
    "fit_references",
    "load_references",
    "parse_text",
    "relevance_scores",
    "render_references",
    "to_bibtex",
]
