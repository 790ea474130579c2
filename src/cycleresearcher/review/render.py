"""Render a :class:`Review` back into the text format a reviewer model writes.

Used to build training / test text and to check the parsers: ``parse(render(parse(text)))``
equals ``parse(text)`` (the property tests hold us to that). Score lines keep the model's own
wording (``3 good``) when it still matches the number, else the number is written bare.
"""

from __future__ import annotations

from typing import Optional

from .parse.common import parse_score
from .parse.cyclereviewer import CYCLEREVIEWER_FIELDS, label
from .records import SCORE_KEYS, Review, ReviewerOpinion

SEPARATOR = "**********"
#: reviewer sections in the order DeepReviewer's ordering sentence asks for
DEEPREVIEWER_FIELDS = ("summary", "soundness", "presentation", "contribution", "strengths", "weaknesses",
                       "suggestions", "questions", "rating", "confidence")  # fmt: skip
_PREAMBLE = {
    "fast": "I will use Fast Mode for quick thinking.",
    "standard": "I will use Standard Mode for comprehensive thinking.",
    "best": "I will use Best Mode for comprehensive thinking.",
}


def render_review(review: Review, format: Optional[str] = None) -> str:
    """Text in ``format`` (``cyclereviewer-a``, ``cyclereviewer-b``, ``deepreviewer``; default: the review's own)."""
    fmt = format or review.format or "cyclereviewer-a"
    if fmt == "deepreviewer":
        return render_deepreviewer(review)
    return render_cyclereviewer(review, variant="b" if fmt == "cyclereviewer-b" else "a")


def _number(value: float) -> str:
    return str(int(value)) if value == int(value) else f"{value:g}"


def score_text(op: ReviewerOpinion, key: str) -> Optional[str]:
    """The score line to write: the model's own wording if it still parses to the value."""
    value, raw = getattr(op, key), op.scores_text.get(key)
    if raw is not None and parse_score(raw, key, "")[0] == value:
        return raw
    return None if value is None else _number(value)


def _field_text(op: ReviewerOpinion, key: str) -> Optional[str]:
    return score_text(op, key) if key in SCORE_KEYS else getattr(op, key)


def render_cyclereviewer(review: Review, variant: str = "a") -> str:
    """Format A: ``## Field`` sections, reviews split by ``**********``. Format B: ``## Reviewer`` + ``### Field``."""
    level = "###" if variant == "b" else "##"
    order = list(CYCLEREVIEWER_FIELDS)
    order.insert(order.index("questions"), "suggestions")  # not a CycleReviewer field, but keep it if set
    reviews = []
    for op in review.reviewers:
        parts = ["## Reviewer\n"] if variant == "b" else []
        for key in order:
            text = _field_text(op, key)
            if text is not None:
                parts.append(f"{level} {label(key)}\n\n{text}\n")
        reviews.append("\n".join(parts))
    out = f"\n{SEPARATOR}\n\n".join(reviews)
    meta = []
    if review.meta_review is not None:
        meta.append(f"## Meta Review\n\n{review.meta_review}\n")
    if review.justification_higher is not None:
        meta.append(f"### justification_for_why_not_higher_score\n\n{review.justification_higher}\n")
    if review.justification_lower is not None:
        meta.append(f"### justification_for_why_not_lower_score\n\n{review.justification_lower}\n")
    if review.decision is not None:
        meta.append(f"## Paper Decision\n\n{review.decision}\n")
    if meta:
        out = (out + f"\n{SEPARATOR}\n\n" if out else "") + "\n".join(meta)
    return out


def _final_block(review: Review) -> str:
    parts = []
    extra = [k for k in review.final_text if k not in DEEPREVIEWER_FIELDS]  # e.g. an ethics flag
    for key in (*DEEPREVIEWER_FIELDS, *extra):
        if key in SCORE_KEYS:
            value = review.final.get(key)
            text = None if value is None else (f"{value:.1f}" if value == int(value) else f"{value:g}")
        else:
            text = review.final_text.get(key)
        if text is not None:
            parts.append(f"## {label(key)}:\n\n{text}\n\n")
    if review.decision is not None:
        parts.append(f"## Decision:\n\n{review.decision}\n")
    return "\n".join(parts).rstrip("\n")


def _simreviewers_block(review: Review) -> str:
    parts = []
    for i, op in enumerate(review.reviewers, 1):
        sections = [f"## Reviewer {i}\n"]
        for key in (
            *DEEPREVIEWER_FIELDS,
            "ethics_flag",
        ):  # DeepReviewer writes no ethics flag; keep one if set
            text = _field_text(op, key)
            if text is not None:
                sections.append(f"### {label(key)}\n\n{text}\n")
        parts.append("\n".join(sections) + f"\n{SEPARATOR}\n")
    return "\n".join(parts)


def render_deepreviewer(review: Review) -> str:
    r"""``\boxed_...{...}`` blocks in the review's block order, after a preamble naming the mode."""
    names = list(dict.fromkeys(review.blocks)) or (["simreviewers"] if review.reviewers else []) + ["review"]
    if review.mode == "best" and "questions" not in names:
        preamble = "Thank you for your help! I have read the answers to those questions."
    else:
        preamble = _PREAMBLE.get(review.mode or "", "")
    bodies = {
        "questions": "\n".join(review.questions),
        "analysis": review.analysis or "",
        "simreviewers": _simreviewers_block(review),
        "verification": review.verification or "",
        "review": _final_block(review),
    }
    out = [preamble + "\n\n"] if preamble else []
    for i, name in enumerate(names):
        # a review that was cut off stays cut off: its last block is left open
        close = "" if review.truncated and i == len(names) - 1 else "\n}"
        out.append(f"\\boxed_{name}{{\n{bodies[name]}{close}\n\n")
    return "".join(out).rstrip("\n")


__all__ = ["render_cyclereviewer", "render_deepreviewer", "render_review", "score_text"]
