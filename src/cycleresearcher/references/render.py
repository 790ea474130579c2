"""References -> the training-layout block the CycleResearcher prompt is made of (FORMATS.md
section 1): BibTeX entries separated by blank lines, an entry with an abstract PRECEDED by one
line ``Abstract: <text>``::

    @article{a2020,
      title={...}
    }

    Abstract: The abstract of b.
    @inproceedings{b2021,
      ...
    }
"""

from __future__ import annotations

from collections.abc import Iterable

from .layout import abstract_of
from .record import Reference, ReferenceSet


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
            same = r.abstract_line is not None and abstract_of(r.abstract_line) == r.abstract
            parts.append(r.abstract_line if same else f"Abstract: {r.abstract}\n")
        parts.append(r.entry_text())
    parts.append(trailer)
    return "".join(parts)
