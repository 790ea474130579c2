"""Typed records the evaluation tables are computed from, and the tolerant readers of scores and
decisions they are built with.

Reviews reach us in many shapes (our ``Review.to_dict()``, OpenReview JSON, raw model outputs parsed
by ``review.parse``); everything is reduced to a :class:`ReviewedPaper` (one paper, one reviewing
model) or a :class:`HumanPaper` (one paper, its human reviews) before any metric is computed.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from statistics import fmean
from typing import Any

#: the score dimensions every table reports, in this order
DIMENSIONS = ("rating", "soundness", "presentation", "contribution")
ACCEPT, REJECT = "Accept", "Reject"

# A score is the first number of the field: "10: strong accept" -> 10 (never the first character
# only), "3 good" -> 3, "**6**" -> 6, "5.75" -> 5.75. "N/A" or prose -> no score.
_NUMBER = re.compile(r"^[\s*_`\[(]*(-?\d+(?:\.\d+)?)")
_NEGATED_ACCEPT = re.compile(r"\b(not|no|never|cannot|can't|won't)\b[\w\s]{0,20}?\baccept", re.IGNORECASE)


def parse_score(value: Any) -> float | None:
    """A score as a float, or None when there is no number (missing, ``N/A``, prose)."""
    if isinstance(value, dict) and "value" in value:  # OpenReview API v2 wraps every field
        value = value["value"]
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, str):
        match = _NUMBER.match(value)
        return float(match.group(1)) if match else None
    return None


def normalize_decision(value: Any) -> str | None:
    """``"Accept"``, ``"Reject"`` or None. "Accept (poster)" is Accept; "not accepted" is Reject;
    anything else (e.g. "Invite to Workshop Track", empty) is no decision."""
    if isinstance(value, dict) and "value" in value:
        value = value["value"]
    if value is None:
        return None
    if isinstance(value, bool):
        return ACCEPT if value else REJECT
    text = str(value).strip()
    if not text:
        return None
    if "reject" in text.lower() or _NEGATED_ACCEPT.search(text):
        return REJECT
    if "accept" in text.lower():
        return ACCEPT
    return None


#: `review` names a paper read from a file after the file and a hash of its text
_HASH_SUFFIX = re.compile(r"-[0-9a-f]{8}$")


def id_key(paper_id: str) -> str:
    """The form in which ids are compared when they differ: without the hash `review` adds
    (``kitcat_paper.pdf`` -> ``kitcat-paper-61e7e746``), case and punctuation."""
    return re.sub(r"[^a-z0-9]+", "", _HASH_SUFFIX.sub("", paper_id).lower())


def id_lookup(ids: Iterable[str]) -> Callable[[str], str | None]:
    """The one matching of paper ids given by a user (truth ids, label rows) with reviewed ones:
    ``find(x)`` is ``x`` when it is in ``ids``, else the one id of ``ids`` with the same
    :func:`id_key` (two such ids: no guess, None)."""
    exact = set(ids)
    by_key: dict[str, list[str]] = {}
    for known in exact:
        by_key.setdefault(id_key(known), []).append(known)

    def find(paper_id: str) -> str | None:
        if paper_id in exact:
            return paper_id
        found = by_key.get(id_key(paper_id), [])
        return found[0] if len(found) == 1 else None

    return find


def unwrap_review(data: dict[str, Any]) -> tuple[dict[str, Any] | None, str | None]:
    """The review dict inside a review-stage record (``{"paper_id", "reviewer", "review": {...} |
    None, "error"}``, as stored in runs and written to ``reviews/<id>.json``), or ``data`` itself
    when it already is a review. Returns (review or None, error)."""
    if (
        "reviewers" not in data
        and "review" in data
        and (data["review"] is None or isinstance(data["review"], dict))
    ):
        if data["review"] is None:
            return None, str(data.get("error") or "not reviewed")
        return data["review"], None
    return data, None


def _as_list(value: Any) -> list[Any]:
    """A list field of a user's JSON, or [] when it holds something else (a review file is data)."""
    return value if isinstance(value, list) else []


@dataclass
class ReviewedPaper:
    """One paper as judged by one reviewing model (all its simulated reviewers together).

    ``reviewer_scores[dim]`` holds every parsed reviewer's score; ``final`` the model's own final
    scores (DeepReviewer's ``\\boxed_review``, CycleReviewer's averages) when it gave them.
    """

    paper_id: str
    group: str = ""
    reviewer_scores: dict[str, list[float]] = field(default_factory=lambda: {d: [] for d in DIMENSIONS})
    final: dict[str, float | None] = field(default_factory=dict)
    decision: str | None = None
    source: str = ""
    raw_text: str | None = None
    warnings: list[str] = field(default_factory=list)
    #: why there is no review at all (a failed request, a paper with no review record). Such a
    #: paper says nothing about the reviewer: it is not a failed parse, the tables name it apart.
    not_reviewed: str | None = None

    def score(self, dim: str) -> float | None:
        """The paper-level score: the final score when the model gave one, else the mean of the
        parsed reviewers' scores, else None."""
        value = self.final.get(dim)
        if value is not None:
            return value
        values = self.reviewer_scores.get(dim) or []
        return fmean(values) if values else None

    @property
    def ratings(self) -> list[float]:
        """The per-reviewer ratings (min / max come from these); the final rating alone when the
        output has no per-reviewer part (e.g. DeepReviewer Fast mode)."""
        values = self.reviewer_scores.get("rating") or []
        if values:
            return list(values)
        final = self.final.get("rating")
        return [final] if final is not None else []

    @property
    def parsed(self) -> bool:
        """False when not a single rating could be read: the paper counts as a failed parse."""
        return bool(self.ratings)

    @classmethod
    def from_review_dict(
        cls, data: dict[str, Any], paper_id: str, group: str = "", source: str = ""
    ) -> ReviewedPaper:
        """From ``Review.to_dict()`` (``final``, ``reviewers``, ``decision``) or a review-stage
        record wrapping one; scores written as strings ("8: accept, good paper") are read as full
        numbers. A record whose review is missing (its request failed) is not reviewed."""
        data, error = unwrap_review(data)
        if data is None:
            return cls.unreviewed(paper_id, group, source, error or "not reviewed")
        reviewers = [r for r in _as_list(data.get("reviewers")) if isinstance(r, dict)]
        scores = {d: [s for r in reviewers if (s := parse_score(r.get(d))) is not None] for d in DIMENSIONS}
        final_src = data.get("final") if isinstance(data.get("final"), dict) else {}
        final = {d: parse_score(final_src.get(d)) for d in (*DIMENSIONS, "confidence")}
        if final["rating"] is None and not scores["rating"]:
            # older / flattened records: {"rating": ..., "avg_rating": ...} at top level
            final["rating"] = parse_score(data.get("rating", data.get("avg_rating")))
        warnings = [str(w) for w in _as_list(data.get("warnings"))]
        return cls(
            paper_id=str(paper_id),
            group=group,
            reviewer_scores=scores,
            final=final,
            decision=normalize_decision(data.get("decision")),
            source=source,
            raw_text=data.get("raw_text") if isinstance(data.get("raw_text"), str) else None,
            warnings=warnings,
        )

    @classmethod
    def failed(cls, paper_id: str, group: str = "", source: str = "", reason: str = "") -> ReviewedPaper:
        """A paper whose review could not be read: kept (and counted) as a failed parse."""
        return cls(paper_id=str(paper_id), group=group, source=source, warnings=[reason] if reason else [])

    @classmethod
    def unreviewed(cls, paper_id: str, group: str = "", source: str = "", reason: str = "") -> ReviewedPaper:
        """A paper with no review at all (``reason``: the failed request's error, say)."""
        return cls(paper_id=str(paper_id), group=group, source=source, not_reviewed=reason or "not reviewed")


@dataclass
class HumanPaper:
    """One paper with its human reviews (OpenReview style) and its decision."""

    paper_id: str
    decision: str | None
    #: one dict per human reviewer: dimension -> score (None when that reviewer left it out)
    reviews: list[dict[str, float | None]]
    title: str = ""

    def scores(self, dim: str) -> list[float]:
        return [r[dim] for r in self.reviews if r.get(dim) is not None]  # type: ignore[misc]

    @classmethod
    def from_openreview(cls, data: dict[str, Any]) -> HumanPaper:
        """From ``{"id", "decision", "review": [{"rating", "content": {"soundness", ...}}]}``.

        A reviewer's rating is its top-level ``rating`` or, failing that, ``content.rating``
        ("8: accept, good paper" -> 8).
        """
        reviews = []
        for item in _as_list(data.get("review") or data.get("reviews")):
            if not isinstance(item, dict):
                continue
            content = item.get("content") if isinstance(item.get("content"), dict) else {}
            row: dict[str, float | None] = {}
            for dim in DIMENSIONS:
                value = parse_score(item.get(dim))
                row[dim] = value if value is not None else parse_score(content.get(dim))
            reviews.append(row)
        return cls(
            paper_id=str(data.get("id") or data.get("paper_id") or ""),
            decision=normalize_decision(data.get("decision")),
            reviews=reviews,
            title=str(data.get("title") or ""),
        )
