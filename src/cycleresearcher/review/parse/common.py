"""The text helpers both review parsers share: header names, section assembly, scores, decisions.

Pure functions over strings; nothing here raises on model output (a problem becomes a warning).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Optional

from ..records import SCORE_KEYS, ReviewerOpinion

#: header text (lower case, "_" -> " ", no colon/bold) -> the field it opens
_NAMES = {
    "summary": "summary",
    "soundness": "soundness",
    "presentation": "presentation",
    "contribution": "contribution",
    "strengths": "strengths",
    "strength": "strengths",
    "weaknesses": "weaknesses",
    "weakness": "weaknesses",
    "suggestions": "suggestions",
    "questions": "questions",
    "flag for ethics review": "ethics_flag",
    "ethics flag": "ethics_flag",
    "ethics review": "ethics_flag",
    "rating": "rating",
    "confidence": "confidence",
    "meta review": "meta_review",
    "metareview": "meta_review",
    "meta-review": "meta_review",
    "paper decision": "decision",
    "decision": "decision",
    "final decision": "decision",
    "justification for why not higher score": "justification_higher",
    "justification for why not lower score": "justification_lower",
}
#: fields that belong to one reviewer (the rest belong to the meta review / final decision)
REVIEWER_FIELDS = ("summary", "soundness", "presentation", "contribution", "strengths", "weaknesses",
                   "suggestions", "questions", "ethics_flag", "rating", "confidence")  # fmt: skip
META_FIELDS = ("meta_review", "justification_higher", "justification_lower", "decision")

#: the opening of a DeepReviewer block, e.g. ``\\boxed_review{``
BOXED_MARKER = re.compile(r"\\boxed_(questions|analysis|simreviewers|verification|review)[ \t]*\{")
_HEADER = re.compile(r"^(#{1,6})[ \t]*(.*?)[ \t]*$")
_REVIEWER_HEADER = re.compile(r"^reviewer(?:\s*#?\s*\d+)?$")
_SEPARATOR = re.compile(r"^[ \t]*\*{5,}[ \t]*$")
# "(n/a)", "N/A", "NA", "none", "-": a score the model declined to give
_NOT_GIVEN = re.compile(r"^\W*(?:n\s*/\s*a|na|none|not applicable|-+)\W*$", re.IGNORECASE)
_NUMBER = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)(?![\d])")
_SCORE_RANGE = {"rating": (1.0, 10.0)}  # every other score is on a 1-5 (or 1-4) scale
_NEGATED_ACCEPT = re.compile(
    r"\b(?:not|never|cannot|can't|can ?not|won't|no)\b(?:\W+\w+){0,3}?\W+accept", re.IGNORECASE
)


def header_field(line: str) -> Optional[str]:
    """The field a markdown header line opens (``"## Rating"`` -> ``"rating"``), else None.

    Fields and reviewers open at levels 2-3; only the meta review's justification parts may sit at
    level 4, so a ``#### Questions`` inside a reviewer's weaknesses stays text.
    """
    m = _HEADER.match(line)
    if not m:
        return None
    level = len(m.group(1))
    name = re.sub(r"[*:]", "", m.group(2)).replace("_", " ")
    name = re.sub(r"\s+", " ", name).strip().lower()
    found = "reviewer" if _REVIEWER_HEADER.match(name) else _NAMES.get(name)
    if found is None or level < 2 or level > (4 if found.startswith("justification") else 3):
        return None
    return found


@dataclass
class Assembled:
    """Sections of a review text grouped into reviewers and the meta part, in order of appearance."""

    reviewers: list[dict[str, str]] = field(default_factory=list)
    meta: dict[str, str] = field(default_factory=dict)
    reviewer_headers: int = 0  # number of ``## Reviewer`` lines (CycleReviewer format B, DeepReviewer)


def assemble(text: str) -> Assembled:
    """Split ``text`` on known headers and ``**********`` separators.

    A new reviewer starts at a ``## Reviewer`` line, after a separator, or when a field repeats
    inside the current reviewer (so a missing separator does not merge two reviews). Unknown
    headers (``#### comment``, ``### Major concerns``) stay part of the section text.
    """
    out = Assembled()
    current: Optional[dict[str, str]] = None  # the reviewer being filled
    target: Optional[tuple[dict[str, str], str]] = None  # where text lines go
    buf: list[str] = []

    def flush() -> None:
        nonlocal buf
        if target is not None:
            container, key = target
            body = "\n".join(buf).strip()
            # a repeated meta section (two "## Meta Review") is appended, not lost
            container[key] = f"{container[key]}\n\n{body}".strip() if key in container else body
        buf = []

    def new_reviewer() -> dict[str, str]:
        reviewer: dict[str, str] = {}
        out.reviewers.append(reviewer)
        return reviewer

    for line in text.splitlines():
        if _SEPARATOR.match(line):
            flush()
            current, target = None, None
            continue
        name = header_field(line)
        if name is None:
            if target is not None:
                buf.append(line)
            continue
        flush()
        if name == "reviewer":
            out.reviewer_headers += 1
            current, target = new_reviewer(), None
        elif name in REVIEWER_FIELDS:
            if current is None or name in current:
                current = new_reviewer()
            target = (current, name)
        else:  # meta review, justifications, decision: they end the reviewer list
            current = None
            target = (out.meta, name)
    flush()
    out.reviewers = [r for r in out.reviewers if r]
    return out


def first_line(text: Optional[str]) -> Optional[str]:
    for line in (text or "").splitlines():
        line = line.strip()
        if line:
            return line
    return None


def parse_score(text: Optional[str], key: str, who: str) -> tuple[Optional[float], Optional[str], list[str]]:
    """``"3 good"``, ``"5: marginally below ..."``, ``"10: strong accept"``, ``"3.25"`` -> number.

    Returns (value, raw first line, warnings). ``N/A`` or an unreadable value -> None + warning.
    """
    raw = first_line(text)
    if raw is None:
        return None, None, [f"{who}: the {key} section is empty"]
    clean = raw.strip("*_`> \t")
    if _NOT_GIVEN.match(clean):
        return None, raw, [f"{who}: {key} is '{raw}' (not given); left missing"]
    m = re.match(r"^(\d+(?:\.\d+)?)(?![\d])", clean) or _NUMBER.search(clean)
    if not m:
        return None, raw, [f"{who}: no number in the {key} line '{raw[:60]}'; left missing"]
    value = float(m.group(1))
    low, high = _SCORE_RANGE.get(key, (1.0, 5.0))
    if not low - 1 <= value <= high:  # 0 is tolerated (some scales start there), 11 is not
        return None, raw, [f"{who}: {key} {value:g} is outside {low:g}-{high:g}; left missing"]
    return value, raw, []


def parse_decision(text: Optional[str]) -> Optional[str]:
    """``Accept`` / ``Reject`` from a decision section; negations ("not accepted") are Reject."""
    lines = [first_line(text) or "", text or ""]
    for chunk in lines:
        low = chunk.lower()
        if "reject" in low or _NEGATED_ACCEPT.search(chunk):
            return "Reject"
        if "accept" in low:
            return "Accept"
    return None


def opinion_from_fields(fields: dict[str, str], who: str) -> ReviewerOpinion:
    """A ReviewerOpinion from assembled sections; scores parsed, problems kept as warnings."""
    op = ReviewerOpinion()
    for key in ("summary", "strengths", "weaknesses", "suggestions", "questions", "ethics_flag"):
        if key in fields:
            setattr(op, key, fields[key])
    for key in SCORE_KEYS:
        if key not in fields:
            continue
        value, raw, warnings = parse_score(fields[key], key, who)
        setattr(op, key, value)
        op.scores_text[key] = raw or ""  # "" = the section was there but empty
        op.warnings += warnings
    return op


__all__ = [
    "BOXED_MARKER",
    "META_FIELDS",
    "REVIEWER_FIELDS",
    "Assembled",
    "assemble",
    "first_line",
    "header_field",
    "opinion_from_fields",
    "parse_decision",
    "parse_score",
]
