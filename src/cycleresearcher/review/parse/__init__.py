"""Parse raw reviewer output into a :class:`Review`: one module per format, the dispatch here.

``common`` holds the text helpers both formats share, ``cyclereviewer`` and ``deepreviewer`` one
format each. Every parser is a pure function that never raises and never returns None: whatever
part of the output is readable ends up in the record, and what is not becomes a warning.
"""

from __future__ import annotations

from ..records import Review
from .common import BOXED_MARKER, assemble, parse_decision, parse_score
from .cyclereviewer import parse_cyclereviewer
from .deepreviewer import parse_deepreviewer

FORMATS = ("auto", "cyclereviewer", "deepreviewer")


def detect_format(text: str) -> str:
    """``deepreviewer`` when a DeepReviewer ``\\boxed_...{`` block is present, else ``cyclereviewer``."""
    return "deepreviewer" if BOXED_MARKER.search(text or "") else "cyclereviewer"


def parse_review(text: str, format: str = "auto") -> Review:
    """Parse raw CycleReviewer (format A or B) or DeepReviewer output. Never raises.

    ``format``: ``auto`` (detect from the text), ``cyclereviewer`` or ``deepreviewer``.
    """
    if not isinstance(text, str):
        text = "" if text is None else str(text)
    fmt = (format or "auto").lower()
    if fmt not in FORMATS:
        review = parse_review(text, "auto")
        review.warnings.insert(
            0, f"unknown format '{format}' (use one of {', '.join(FORMATS)}); detected instead"
        )
        return review
    if fmt == "auto":
        fmt = detect_format(text)
    return parse_deepreviewer(text) if fmt == "deepreviewer" else parse_cyclereviewer(text)


__all__ = [
    "FORMATS",
    "assemble",
    "detect_format",
    "parse_cyclereviewer",
    "parse_decision",
    "parse_deepreviewer",
    "parse_review",
    "parse_score",
]
