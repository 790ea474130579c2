"""References -> plain BibTeX for a LaTeX project's ``references.bib``."""

from __future__ import annotations

from collections.abc import Iterable

from .clean import clean_entry, dropped_fields
from .fields import format_entry
from .record import Reference, ReferenceSet


def to_bibtex(refs: ReferenceSet | Iterable[Reference]) -> str:
    """One entry per key (the first wins), no ``Abstract:`` lines, cut-off entries left out (they
    would break BibTeX), no local file path and no bookkeeping field (``clean``)."""
    seen: set[str] = set()
    out: list[str] = []
    for r in refs:
        if r.key in seen or r.truncated:
            continue
        seen.add(r.key)
        if r.raw is not None and r.entry_type != "bibitem":
            # a plain .bib was cleaned when read; a training-layout block was left as it is
            out.append(clean_entry(r.raw, r.dropped).strip() if r.dropped else r.raw.strip())
        else:
            fields = r.all_fields()
            drop = dropped_fields(fields)
            out.append(
                format_entry(
                    "misc" if r.entry_type == "bibitem" else r.entry_type,
                    r.key,
                    {k: v for k, v in fields.items() if k not in drop},
                )
            )
    return "\n\n".join(out) + "\n" if out else ""
