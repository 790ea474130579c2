"""Reviewing papers: typed review records and the parsers of CycleReviewer / DeepReviewer output.

Nothing heavy is imported here; the reviewer classes live in their own modules.
"""

from __future__ import annotations

from .records import SCORE_KEYS, Review, ReviewerOpinion

__all__ = ["SCORE_KEYS", "Review", "ReviewerOpinion", "parse_review"]


def parse_review(text: str, format: str = "auto") -> Review:
    """Parse raw CycleReviewer / DeepReviewer output (see :func:`cycleresearcher.review.parse.parse_review`)."""
    from .parse import parse_review as _parse

    return _parse(text, format=format)
