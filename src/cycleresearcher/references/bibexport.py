"""References -> plain BibTeX for a LaTeX project's ``references.bib``."""

from __future__ import annotations

from collections.abc import Iterable

from .fields import format_entry
from .record import Reference, ReferenceSet


def to_bibtex(refs: ReferenceSet | Iterable[Reference]) -> str:
    """One entry per key (the first wins), no ``Abstract:`` lines, cut-off entries left out (they
    would break BibTeX)."""
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
                format_entry("misc" if r.entry_type == "bibitem" else r.entry_type, r.key, r.all_fields())
            )
    return "\n\n".join(out) + "\n" if out else ""
