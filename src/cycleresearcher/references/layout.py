"""The training layout's text between entries (FORMATS.md section 1).

An entry with an abstract is PRECEDED by one line ``Abstract: <text>``; the line is only
recognised at the start of a line outside an entry. Both readers of the layout (BibTeX and
``\\bibitem`` lists) keep everything else between entries as the entry's ``lead``.
"""

from __future__ import annotations

import re

ABSTRACT_PREFIX = "Abstract:"
ABSTRACT_LINE = re.compile(r"^Abstract:", re.M)


def split_gap(gap: str) -> tuple[str, str | None]:
    """Text between entries -> (lead, the ``Abstract: ...`` text up to the entry, or None)."""
    m = ABSTRACT_LINE.search(gap)
    if m is None:
        return gap, None
    return gap[: m.start()], gap[m.start() :]


def abstract_of(abstract_line: str) -> str | None:
    """The abstract an ``Abstract: ...`` text holds (None when the line is empty)."""
    return abstract_line[len(ABSTRACT_PREFIX) :].strip() or None


def line_of(text: str, pos: int) -> int:
    """The 1-based line number of offset ``pos``."""
    return text.count("\n", 0, pos) + 1
