"""The reference list a LaTeX project's reader appends to its text, as the PDF would print it.

From the ``.bbl`` that BibTeX wrote beside the main file when there is one (exactly the printed
list), else from the cited entries of the ``.bib`` files the document names (``\\nocite{*}``:
all of them). Each entry becomes one plain line: authors, title, venue, year.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from ..latex import plain_title

_CITE = re.compile(r"\\(?:no)?(?:cite|Cite)[A-Za-z]*\*?\s*(?:\[[^\]]*\]\s*){0,2}\{([^}]*)\}")
_NOCITE_ALL = re.compile(r"\\nocite\s*\{\s*\*\s*\}")
_BIBLIOGRAPHY = re.compile(r"\\bibliography\s*\{([^}]*)\}")
_ADDBIB = re.compile(r"\\addbibresource\s*(?:\[[^\]]*\])?\s*\{([^}]*)\}")
#: where the printed list would be: dropped from the body, the list goes at the end
BIB_COMMANDS = re.compile(
    r"\\(?:bibliography|bibliographystyle|addbibresource)\s*(?:\[[^\]]*\])?\s*\{[^}]*\}|\\printbibliography\b(\s*\[[^\]]*\])?"
)
_BIBITEM_HEAD = re.compile(r"\\bibitem\s*(?:\[(?:[^\[\]]|\[[^\]]*\])*\])?\s*\{[^}]*\}")
_DROP = re.compile(
    r"\\(?:newblock|em|it|bf|sc|rm|natexlab|BibitemOpen|BibitemShut\s*\{[^}]*\}|urlprefix|bibinfo\s*\{[^}]*\}|bibfield\s*\{[^}]*\}|doiprefix)\b"
)


@dataclass
class ReferenceList:
    """The printed list as plain lines, where it came from, and what was missing."""

    entries: list[str] = field(default_factory=list)
    source: str = ""
    warnings: list[str] = field(default_factory=list)

    def section(self) -> str:
        return "\\section*{References}\n" + "\n".join(self.entries) if self.entries else ""


def cited_keys(text: str) -> list[str]:
    """Citation keys in order of first citation; ``["*"]`` first when ``\\nocite{*}``."""
    keys: list[str] = ["*"] if _NOCITE_ALL.search(text) else []
    for m in _CITE.finditer(text):
        for k in m.group(1).split(","):
            k = k.strip()
            if k and k not in keys:
                keys.append(k)
    return keys


def bib_names(text: str) -> list[str]:
    """The ``.bib`` files the document names (``\\bibliography{a,b}``, ``\\addbibresource{a.bib}``)."""
    names = [n.strip() for m in _BIBLIOGRAPHY.finditer(text) for n in m.group(1).split(",")]
    names += [m.group(1).strip() for m in _ADDBIB.finditer(text)]
    return [n if n.endswith(".bib") else n + ".bib" for n in names if n]


def plain_entry(raw: str) -> str:
    """A ``\\bibitem`` or a BibTeX field as one plain line."""
    raw = _BIBITEM_HEAD.sub("", raw, count=1)
    raw = _DROP.sub(" ", raw)
    return plain_title(raw.replace("\\&", "&"))


def from_bbl(text: str, label: str) -> ReferenceList:
    from ..references.bbl import parse_bibitems

    refs = parse_bibitems(text, label)
    entries = [e for e in (plain_entry(r.raw or "") for r in refs) if e]
    return ReferenceList(entries, label)


def _bib_line(fields: dict[str, str]) -> str:
    parts = []
    for key in ("author", "title"):
        if fields.get(key):
            parts.append(plain_title(fields[key]).rstrip("."))
    venue = next(
        (fields[k] for k in ("journal", "booktitle", "publisher", "howpublished", "school") if fields.get(k)),
        "",
    )
    tail = ", ".join(x for x in (plain_title(venue), plain_title(fields.get("year", ""))) if x)
    if tail:
        parts.append(tail)
    return ". ".join(parts) + "." if parts else ""


_ENTRY = re.compile(r"^[ \t]*@(\w+)\s*[{(]\s*([^,\s]*)", re.M)


def cited_entries(bib: str, keys: set[str] | None) -> str:
    """The entries of ``bib`` whose key is in ``keys`` (all when None), with its ``@string`` and
    ``@preamble`` entries: parsing only what is cited keeps a 1,000-entry .bib fast."""
    starts = list(_ENTRY.finditer(bib))
    parts = []
    for n, m in enumerate(starts):
        end = starts[n + 1].start() if n + 1 < len(starts) else len(bib)
        kind = m.group(1).lower()
        if keys is None or kind in ("string", "preamble") or m.group(2) in keys:
            parts.append(bib[m.start() : end])
    return "".join(parts)


def from_bib(paths: list[Path], text: str, label: str) -> ReferenceList:
    """The cited entries of ``paths``, in order of first citation."""
    from ..errors import CycleResearcherError
    from ..references.load import parse_text
    from .files import read_utf8

    keys = cited_keys(text)
    wanted = None if keys[:1] == ["*"] else set(keys)
    try:
        bib = "\n".join(cited_entries(read_utf8(p).replace("\r\n", "\n"), wanted) for p in paths)
        refs = parse_text(bib, label, strict=False) if bib.strip() else []
    except CycleResearcherError as exc:
        return ReferenceList([], label, [f"the bibliography could not be read ({exc}); no reference list"])
    by_key = {r.key: r for r in refs}
    if keys[:1] == ["*"]:
        keys = [k for k in keys[1:]] + [k for k in by_key if k not in keys]
    found = [by_key[k] for k in keys if k in by_key]
    missing = [k for k in keys if k not in by_key]
    warnings = []
    if missing:
        shown = ", ".join(missing[:5]) + (", ..." if len(missing) > 5 else "")
        warnings.append(
            f"{len(missing)} cited keys are in no .bib file ({shown}); left out of the reference list"
        )
    entries = [e for e in (_bib_line(r.all_fields()) for r in found) if e]
    return ReferenceList(entries, label, warnings)


__all__ = [
    "BIB_COMMANDS",
    "ReferenceList",
    "bib_names",
    "cited_entries",
    "cited_keys",
    "from_bbl",
    "from_bib",
    "plain_entry",
]
