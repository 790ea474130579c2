"""Reading references from files or text: decoding, format detection, the checks over a whole set."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Union

from ..errors import ReferencesError
from .bbl import BIBITEM, parse_bibitems
from .bibtex import ENTRY_START, parse_bibtex
from .clean import is_placeholder_abstract
from .record import Reference, ReferenceSet
from .records_json import parse_json

PathLike = Union[str, os.PathLike]

#: more missing abstracts than this are reported as one warning instead of one per entry
_MAX_INDIVIDUAL_WARNINGS = 5


def load_references(
    source: PathLike | bytes | ReferenceSet | Sequence[PathLike] | Sequence[Reference],
    *,
    strict: bool = False,
    name: str | None = None,
) -> ReferenceSet:
    """Read references from files or text, detecting the format.

    ``source``: a path, text content (a string with a newline or starting like BibTeX / JSON),
    bytes, a list of paths (merged in order) or a list of ``Reference``. Formats: BibTeX with or
    without ``abstract`` fields, the training layout (``Abstract:`` line before its entry), a
    ``thebibliography`` / ``\\bibitem`` list, paper-record JSON (a record with ``references:
    [{title, abstract, ...}]``, a list of records, or a list of references).

    Lenient by default, like BibTeX: an entry that cannot be read is skipped with a warning that
    names its line and cause (in a training-layout block it is kept as is, and so is a cut-off last
    entry); ``strict=True`` raises ``ReferencesError`` naming the file and line instead. ``@string``
    definitions are shared by the files given together, in order (an abbreviations file first).
    """
    if isinstance(source, ReferenceSet):
        return source
    if isinstance(source, (list, tuple)):
        if not source:
            raise ReferencesError("No references given: pass a .bib, .bbl or paper-record .json file.")
        if all(isinstance(s, Reference) for s in source):
            return _finish(ReferenceSet(references=list(source), sources=[name or "<references>"]))
        macros: dict[str, str] = {}  # @string definitions, shared in the order the files are given
        parts = [_load_one(s, strict=strict, name=None, macros=macros) for s in source]
        parts = [p for p in parts if not p.macros_only] or parts
        if all(p.macros_only for p in parts):
            raise ReferencesError(
                f"{', '.join(s for p in parts for s in p.sources)}: only @string definitions, no entries; "
                "give the bibliography that uses them after it."
            )
        merged = ReferenceSet(header=parts[0].header, trailer=parts[-1].trailer)
        for part in parts:
            merged.references.extend(part.references)
            merged.warnings.extend(part.warnings)
            merged.sources.extend(part.sources)
            merged.skipped += part.skipped
        return _finish(merged)
    one = _load_one(source, strict=strict, name=name, macros={})
    if one.macros_only:
        raise ReferencesError(
            f"{one.sources[0]}: only @string definitions, no entries (an abbreviations file?); give it "
            "together with the bibliography that uses them, first: FILE.bib comes after it."
        )
    return _finish(one)


def _load_one(
    source: PathLike | bytes, *, strict: bool, name: str | None, macros: dict[str, str]
) -> ReferenceSet:
    warnings: list[str] = []
    if isinstance(source, bytes):
        text, label = decode(source, name or "<bytes>", warnings), name or "<bytes>"
    elif isinstance(source, str) and _looks_like_content(source):
        text, label = source, name or "<text>"
    else:
        path = Path(source)
        label = name or str(source)
        if not path.exists() or path.is_dir():  # pipes such as /dev/stdin are fine
            what = "is a directory" if path.is_dir() else "does not exist"
            raise ReferencesError(f"{label}: {what}; pass a .bib, .bbl or paper-record .json file.")
        text = decode(path.read_bytes(), label, warnings)
    # the released models were trained on LF text; CRLF files (Windows, BibTeX exports) are common
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    refs = parse_text(text, label, strict=strict, macros=macros)
    refs.warnings[:0] = warnings
    return refs


def _looks_like_content(value: str) -> bool:
    head = value.lstrip()[:20]
    return "\n" in value or head.startswith(("@", "[", "{", "Abstract:", "\\bibitem", "\\begin"))


def decode(data: bytes, label: str, warnings: list[str]) -> str:
    """UTF-8 (a BOM dropped), else Latin-1 with a warning naming the first bad line."""
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


def parse_text(
    text: str, label: str = "<text>", *, strict: bool = False, macros: dict[str, str] | None = None
) -> ReferenceSet:
    """Parse already-decoded text (LF line endings), detecting JSON, ``\\bibitem`` lists and BibTeX."""
    stripped = text.lstrip()
    if stripped.startswith(("[", "{")):
        return parse_json(text, label, parse_text)
    if BIBITEM.search(text) and not ENTRY_START.search(text):
        return parse_bibitems(text, label)
    return parse_bibtex(text, label, strict=strict, macros=macros)


def _fullness(r: Reference) -> int:
    """Filled fields, an abstract counting once more (it is what the model reads most)."""
    return (1 if r.abstract else 0) + sum(1 for v in r.fields.values() if v.strip())


def _finish(refs: ReferenceSet) -> ReferenceSet:
    """Add what needs the whole set: placeholder abstracts, duplicate keys (one kept: the fuller,
    in the place of the first), the warning about entries without abstract."""
    for r in refs.references:
        in_layout = r.abstract_line is not None or r.abstract_in_entry
        if r.abstract is not None and not in_layout and is_placeholder_abstract(r.abstract):
            r.abstract = None  # 'Not Available', '[...]', 'PMID: 123': no abstract at all
    # a training-layout block keeps its duplicates (it renders back byte for byte)
    layout = any(r.abstract_line is not None for r in refs.references)
    seen: dict[str, int] = {}
    kept: list[Reference] = []
    for r in refs.references:
        i = seen.get(r.key)
        if i is None or layout:
            seen.setdefault(r.key, len(kept))
            kept.append(r)
            if i is not None:
                refs.warnings.append(
                    f"{r.source}: duplicate key '{r.key}' (first at {kept[i].source}); both stay in this "
                    "training-layout block, only the first goes to references.bib"
                )
            continue
        first = kept[i]
        winner = r if _fullness(r) > _fullness(first) else first
        refs.warnings.append(
            f"{r.source}: duplicate key '{r.key}' (also at {first.source}); kept the fuller entry, "
            f"from {winner.source}"
        )
        if winner is r:
            r.lead = first.lead
            kept[i] = r
        refs.merged += 1
    refs.references = kept
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
