"""Parse CycleReviewer output (FORMATS.md §2) into a :class:`Review`.

Format A (8B / 70B): reviews separated by ``**********``, fields ``## Summary`` ... ``## Confidence``.
Format B (123B): each review opens with ``## Reviewer``, fields ``### Summary`` ... ``### Confidence``.
Both end with ``## Meta Review`` (optionally ``### justification_for_why_not_higher_score`` /
``..._lower_score``) and ``## Paper Decision``. The meta review is never counted as a reviewer.
"""

from __future__ import annotations

from ..records import SCORE_KEYS, Review
from .common import assemble, first_line, opinion_from_fields, parse_decision

#: the sections every complete CycleReviewer review has, in the order the model writes them
CYCLEREVIEWER_FIELDS = ("summary", "soundness", "presentation", "contribution", "strengths", "weaknesses",
                        "questions", "ethics_flag", "rating", "confidence")  # fmt: skip
_LABELS = {"ethics_flag": "Flag For Ethics Review"}


def label(key: str) -> str:
    """The header text the model writes for a field (``ethics_flag`` -> ``Flag For Ethics Review``)."""
    return _LABELS.get(key, key.capitalize())


def parse_cyclereviewer(text: str) -> Review:
    """Parse one CycleReviewer generation. Never raises; problems become ``warnings``."""
    text = text if isinstance(text, str) else ""
    review = Review(raw_text=text, format="cyclereviewer-a")
    try:
        _fill(review, text)
    except Exception as exc:  # pragma: no cover - safety net; the property tests assert it never fires
        review.warnings.append(f"internal parser error ({exc!r}); the review is partial")
    return review


def _fill(review: Review, text: str) -> None:
    if not text.strip():
        review.warnings.append("empty reviewer output")
        return
    parts = assemble(text)
    if parts.reviewer_headers and parts.reviewers:
        review.format = "cyclereviewer-b"
    for i, fields in enumerate(parts.reviewers, 1):
        op = opinion_from_fields(fields, f"reviewer {i}")
        if "rating" not in fields:
            op.warnings.append(f"reviewer {i}: no Rating section")
        review.reviewers.append(op)
    if not review.reviewers:
        review.warnings.append("no review found (expected '## Summary' ... '## Confidence' sections)")

    review.meta_review = parts.meta.get("meta_review")
    review.justification_higher = parts.meta.get("justification_higher")
    review.justification_lower = parts.meta.get("justification_lower")

    # truncation: the text stops inside the last review (no meta review, no decision after it)
    last = parts.reviewers[-1] if parts.reviewers else {}
    missing = [k for k in CYCLEREVIEWER_FIELDS if k not in last]
    if last and missing and not any(parts.meta.values()):
        review.truncated = True
        seen = [k for k in CYCLEREVIEWER_FIELDS if k in last]
        after = label(seen[-1]) if seen else "its start"
        review.warnings.append(
            f"the output is cut off: reviewer {len(parts.reviewers)} ends after '{after}' "
            f"(missing {', '.join(label(k) for k in missing)}); kept partially"
        )

    if "decision" in parts.meta:
        review.decision = parse_decision(parts.meta["decision"])
        if review.decision is None:
            line = first_line(parts.meta["decision"]) or ""
            review.warnings.append(
                f"the Paper Decision '{line[:60]}' says neither Accept nor Reject; decision left missing"
            )
    else:
        review.warnings.append("no '## Paper Decision' section; decision left missing")
    if review.meta_review is None and review.reviewers:
        review.warnings.append("no '## Meta Review' section")

    for op in review.reviewers:
        review.warnings += op.warnings
    review.final = {k: review.mean(k) for k in SCORE_KEYS}


__all__ = ["CYCLEREVIEWER_FIELDS", "label", "parse_cyclereviewer"]
