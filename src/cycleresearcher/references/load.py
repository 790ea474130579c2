"""Reading references from files or text: decoding, format detection, the checks over a whole set."""

from __future__ import annotations

import os
import re
import unicodedata
from collections.abc import Sequence
from pathlib import Path
from typing import Union

from ..errors import ReferencesError
from .bbl import BIBITEM, parse_bibitems
from .bibtex import ENTRY_START, parse_bibtex
from .clean import is_placeholder_abstract
from .fields import clean, rename_key
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
        raise ReferencesError(_macros_alone(one.sources[0]))
    return _finish(one)


def _macros_alone(label: str) -> str:
    name = "ABBREV.bib" if label.startswith("<") else Path(label).name
    return (
        f"{label}: only @string definitions, no entries (an abbreviations file?); give it first, "
        f"followed by the .bib files that use them ({name} refs.bib)."
    )


def load_reference_sets(
    sources: Sequence[PathLike | bytes], *, strict: bool = False, names: Sequence[str | None] | None = None
) -> list[ReferenceSet]:
    """One ``ReferenceSet`` per source (``research generate``: one paper set per file), except
    that a file of ``@string`` definitions alone (an abbreviations file such as IEEEabrv.bib) is
    no set of its own: its definitions serve every set after it. ``names``: the label of each
    source given as bytes (an upload)."""
    names = list(names) if names is not None else [None] * len(sources)
    shared: dict[str, str] = {}  # the definitions of the abbreviations files read so far
    sets: list[ReferenceSet] = []
    pending: list[str] = []  # abbreviations files no set has followed yet
    for source, name in zip(sources, names, strict=True):
        macros = dict(shared)  # a set's own @string blocks stay its own
        part = _load_one(source, strict=strict, name=name, macros=macros)
        if part.macros_only:
            shared = macros
            pending.extend(part.sources)
            continue
        pending.clear()
        sets.append(_finish(part))
    if pending:
        raise ReferencesError(
            _macros_alone(pending[0])
            if not sets
            else f"{', '.join(pending)}: only @string definitions, and no reference file after it to use "
            "them; give an abbreviations file before the .bib files that use it."
        )
    return sets


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


def _title_key(r: Reference) -> str:
    """The title as compared across entries: case, accents, braces, LaTeX and punctuation ignored."""
    text = unicodedata.normalize("NFKD", r.title or clean(r.fields.get("title", "")))
    return re.sub(r"[^a-z0-9]+", "", text.encode("ascii", "ignore").decode().lower())


def _same_work(a: Reference, b: Reference) -> bool:
    """Two entries with one key are copies of one work unless both have titles and these differ
    (an exporter's auto key such as Scopus's ``NoAuthor2013`` is shared by unrelated works)."""
    ta, tb = _title_key(a), _title_key(b)
    return not ta or not tb or ta == tb


def _suffixed(key: str, taken: set[str]) -> str:
    """``key`` + a, b, ..., z, aa, ab, ... (BibTeX's own habit for one author-year), not in ``taken``."""
    n = 0
    while True:
        n, suffix = n + 1, ""
        i = n
        while i:
            i, rest = divmod(i - 1, 26)
            suffix = chr(ord("a") + rest) + suffix
        if key + suffix not in taken:
            return key + suffix


def _where(source: str, first: str) -> str:
    """``file:12`` as ``line 12`` when ``first`` is in the same file (the warning names it once)."""
    name, _, line = source.rpartition(":")
    return f"line {line}" if name and line.isdigit() and first.startswith(name + ":") else source


def _merge_duplicates(refs: ReferenceSet) -> None:
    """One entry per key: copies of one work (same title) become the fuller one, in the place of
    the first, with one warning per key; different works that share a key all stay, the later ones
    under a suffixed key (``NoAuthor2013a``), with one warning naming the new keys."""
    works: dict[str, list[list[Reference]]] = {}  # key -> its works, each a list of copies
    order: list[list[Reference]] = []
    for r in refs.references:
        group = works.setdefault(r.key, [])
        copies = next((w for w in group if _same_work(w[0], r)), None)
        if copies is None:
            copies = [r]
            group.append(copies)
            order.append(copies)
        else:
            copies.append(r)
    taken = set(works)
    kept: list[Reference] = []
    winners: dict[int, Reference] = {}  # id(copies) -> the entry kept for them
    for copies in order:
        first = copies[0]
        winner = max(copies, key=_fullness)  # the first of the fullest
        if len(copies) > 1:
            others = ", ".join(_where(c.source, first.source) for c in copies[1:])
            refs.warnings.append(
                f"{first.source}: duplicate key '{first.key}' (same title), again at {others}; kept the "
                f"fuller entry, from {_where(winner.source, first.source)}"
            )
            refs.merged += len(copies) - 1
            winner.lead = first.lead
        kept.append(winner)
        winners[id(copies)] = winner
    for key, group in works.items():
        if len(group) < 2:
            continue
        renames = []
        for copies in group[1:]:
            r = winners[id(copies)]
            new = _suffixed(key, taken)
            taken.add(new)
            r.key, r.raw = new, rename_key(r.raw, key, new) if r.raw is not None else None
            renames.append(f"{new} ({_where(copies[0].source, group[0][0].source)})")
        refs.renamed += len(renames)
        refs.warnings.append(
            f"{group[0][0].source}: the key '{key}' is given to {len(group)} different works (their "
            f"titles differ); all are kept, the later ones renamed: {', '.join(renames)}"
        )
    refs.references = kept


def _finish(refs: ReferenceSet) -> ReferenceSet:
    """Add what needs the whole set: placeholder abstracts, duplicate keys (``_merge_duplicates``),
    the warning about entries without abstract."""
    for r in refs.references:
        in_layout = r.abstract_line is not None or r.abstract_in_entry
        if r.abstract is not None and not in_layout and is_placeholder_abstract(r.abstract):
            r.abstract = None  # 'Not Available', '[...]', 'PMID: 123': no abstract at all
    if any(r.abstract_line is not None for r in refs.references):
        # a training-layout block keeps its duplicates (it renders back byte for byte)
        seen: dict[str, Reference] = {}
        for r in refs.references:
            first = seen.setdefault(r.key, r)
            if first is not r:
                refs.warnings.append(
                    f"{r.source}: duplicate key '{r.key}' (first at {first.source}); both stay in this "
                    "training-layout block, only the first goes to references.bib"
                )
    else:
        _merge_duplicates(refs)
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
