"""Typed review records shared by the reviewers, the parsers, the CLI and the evaluation.

A ``Review`` is what one reviewer model said about one paper: the opinions of its (simulated)
reviewers, the meta review / final review, the decision, and every warning the parser raised.
Aggregates (avg / min / max rating, per-dimension means) only count reviewers whose score was
actually parsed: a missing score is ``None``, never 0.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from statistics import fmean
from typing import Any, Literal, Optional

from ..markdown_text import fenced

#: the numeric scores of a reviewer, in the order the models write them
SCORE_KEYS = ("rating", "soundness", "presentation", "contribution", "confidence")
#: the free-text sections of a reviewer
TEXT_KEYS = ("summary", "strengths", "weaknesses", "suggestions", "questions", "ethics_flag")

Decision = Literal["Accept", "Reject"]
ReviewFormat = Literal["cyclereviewer-a", "cyclereviewer-b", "deepreviewer"]


@dataclass
class ReviewerOpinion:
    """One reviewer (a CycleReviewer review or a DeepReviewer simulated reviewer)."""

    summary: Optional[str] = None
    soundness: Optional[float] = None
    presentation: Optional[float] = None
    contribution: Optional[float] = None
    strengths: Optional[str] = None
    weaknesses: Optional[str] = None
    suggestions: Optional[str] = None
    questions: Optional[str] = None
    ethics_flag: Optional[str] = None
    rating: Optional[float] = None
    confidence: Optional[float] = None
    #: the score lines as written by the model, e.g. {"rating": "5: marginally below the acceptance threshold"}
    scores_text: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        for k in SCORE_KEYS:  # ints from callers become floats so JSON and comparisons are uniform
            if getattr(self, k) is not None:
                setattr(self, k, float(getattr(self, k)))

    def scores(self) -> dict[str, Optional[float]]:
        return {k: getattr(self, k) for k in SCORE_KEYS}

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = self.scores()
        d.update({k: getattr(self, k) for k in TEXT_KEYS})
        d["scores_text"] = dict(self.scores_text)
        d["warnings"] = list(self.warnings)
        return d

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ReviewerOpinion:
        names = {f.name for f in fields(cls)}
        kwargs = {k: v for k, v in data.items() if k in names}
        for k in SCORE_KEYS:
            if kwargs.get(k) is not None:
                kwargs[k] = float(kwargs[k])
        kwargs["scores_text"] = dict(kwargs.get("scores_text") or {})
        kwargs["warnings"] = list(kwargs.get("warnings") or [])
        return cls(**kwargs)


def _empty_final() -> dict[str, Optional[float]]:
    return {k: None for k in SCORE_KEYS}


@dataclass
class Review:
    """A parsed review of one paper. Partial outputs give partial records plus ``warnings``."""

    reviewers: list[ReviewerOpinion] = field(default_factory=list)
    meta_review: Optional[str] = None
    justification_higher: Optional[str] = None  # why not a higher score (CycleReviewer meta review)
    justification_lower: Optional[str] = None  # why not a lower score
    decision: Optional[Decision] = None
    #: DeepReviewer: the final review's scores; CycleReviewer: the mean over parsed reviewers
    final: dict[str, Optional[float]] = field(default_factory=_empty_final)
    #: DeepReviewer's final review text sections (summary, strengths, ...); empty for CycleReviewer
    final_text: dict[str, str] = field(default_factory=dict)
    questions: list[str] = field(default_factory=list)  # DeepReviewer Best mode, turn 1
    analysis: Optional[str] = None
    verification: Optional[str] = None
    #: DeepReviewer \\boxed_ blocks found, in order of appearance (e.g. ["simreviewers", "verification", "review"])
    blocks: list[str] = field(default_factory=list)
    format: Optional[ReviewFormat] = None
    mode: Optional[str] = None  # DeepReviewer: "fast" | "standard" | "best"
    raw_text: str = ""
    truncated: bool = False
    warnings: list[str] = field(default_factory=list)

    # ---- aggregates over parsed reviewers only -------------------------------------------------
    def _values(self, key: str) -> list[float]:
        return [v for r in self.reviewers if (v := getattr(r, key)) is not None]

    def mean(self, key: str) -> Optional[float]:
        values = self._values(key)
        return fmean(values) if values else None

    @property
    def ratings(self) -> list[float]:
        return self._values("rating")

    @property
    def avg_rating(self) -> Optional[float]:
        return self.mean("rating")

    @property
    def min_rating(self) -> Optional[float]:
        values = self.ratings
        return min(values) if values else None

    @property
    def max_rating(self) -> Optional[float]:
        values = self.ratings
        return max(values) if values else None

    @property
    def means(self) -> dict[str, Optional[float]]:
        """Per-dimension means over the reviewers whose score for that dimension was parsed."""
        return {k: self.mean(k) for k in SCORE_KEYS}

    @property
    def score(self) -> Optional[float]:
        """The one number to rank by: the final rating, else the mean reviewer rating."""
        rating = self.final.get("rating")
        return rating if rating is not None else self.avg_rating

    # ---- serialisation ---------------------------------------------------------------------------
    def to_dict(self, include_raw: bool = True) -> dict[str, Any]:
        d: dict[str, Any] = {
            "format": self.format,
            "mode": self.mode,
            "decision": self.decision,
            "final": dict(self.final),
            "avg_rating": self.avg_rating,
            "min_rating": self.min_rating,
            "max_rating": self.max_rating,
            "means": self.means,
            "n_reviewers": len(self.reviewers),
            "reviewers": [r.to_dict() for r in self.reviewers],
            "meta_review": self.meta_review,
            "justification_higher": self.justification_higher,
            "justification_lower": self.justification_lower,
            "final_text": dict(self.final_text),
            "questions": list(self.questions),
            "analysis": self.analysis,
            "verification": self.verification,
            "blocks": list(self.blocks),
            "truncated": self.truncated,
            "warnings": list(self.warnings),
        }
        if include_raw:
            d["raw_text"] = self.raw_text
        return d

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Review:
        final = _empty_final()
        for k, v in (data.get("final") or {}).items():
            final[k] = None if v is None else float(v)
        return cls(
            reviewers=[ReviewerOpinion.from_dict(r) for r in data.get("reviewers") or []],
            meta_review=data.get("meta_review"),
            justification_higher=data.get("justification_higher"),
            justification_lower=data.get("justification_lower"),
            decision=data.get("decision"),
            final=final,
            final_text=dict(data.get("final_text") or {}),
            questions=list(data.get("questions") or []),
            analysis=data.get("analysis"),
            verification=data.get("verification"),
            blocks=list(data.get("blocks") or []),
            format=data.get("format"),
            mode=data.get("mode"),
            raw_text=data.get("raw_text") or "",
            truncated=bool(data.get("truncated", False)),
            warnings=list(data.get("warnings") or []),
        )

    def to_markdown(self, title: Optional[str] = None) -> str:
        """A readable review: decision, avg/min/max, each reviewer's scores and main points."""
        lines = [f"# Review{': ' + title if title else ''}", ""]
        who = {"deepreviewer": "DeepReviewer"}.get(self.format or "", "CycleReviewer")
        mode = f" ({self.mode} mode)" if self.mode else ""
        lines.append(f"Reviewer model: {who}{mode}  ")
        lines.append(f"**Decision: {self.decision or 'not given'}**  ")
        lines.append(
            f"Rating avg / min / max over {len(self.ratings)} parsed reviewer(s): "
            f"{_fmt(self.avg_rating)} / {_fmt(self.min_rating)} / {_fmt(self.max_rating)}"
        )
        if any(v is not None for v in self.final.values()):
            lines += ["", "| | " + " | ".join(k.capitalize() for k in SCORE_KEYS) + " |"]
            lines.append("|---" * (len(SCORE_KEYS) + 1) + "|")
            row = "Final" if self.format == "deepreviewer" else "Mean"
            lines.append(f"| {row} | " + " | ".join(_fmt(self.final.get(k)) for k in SCORE_KEYS) + " |")
        if self.truncated:
            lines += ["", "> The model output was cut off; this review is partial."]
        for i, r in enumerate(self.reviewers, 1):
            lines += ["", f"## Reviewer {i}", ""]
            lines.append(", ".join(f"{k.capitalize()}: {_fmt(getattr(r, k))}" for k in SCORE_KEYS))
            for key in ("summary", "strengths", "weaknesses", "suggestions", "questions", "ethics_flag"):
                text = getattr(r, key)
                if text:
                    lines += ["", f"### {key.replace('_', ' ').capitalize()}", "", text]
        if self.final_text:
            lines += ["", "## Final review"]
            for key, text in self.final_text.items():
                lines += ["", f"### {key.capitalize()}", "", text]
        if self.meta_review:
            lines += ["", "## Meta review", "", self.meta_review]
        for label, text in (
            ("Why not a higher score", self.justification_higher),
            ("Why not a lower score", self.justification_lower),
        ):
            if text:
                lines += ["", f"### {label}", "", text]
        if self.questions:
            lines += ["", "## Search questions", ""] + [f"{i}. {q}" for i, q in enumerate(self.questions, 1)]
        if self.warnings:
            lines += ["", "## Parser warnings", ""] + [f"- {w}" for w in self.warnings]
        if self.raw_text.strip() and self.parse_failed:
            # what the parser could not read is only in the model's own text: keep it in the export
            lines += ["", "## Raw model output", "", *fenced(self.raw_text)]
        return "\n".join(lines).rstrip() + "\n"

    @property
    def parse_failed(self) -> bool:
        """No reviewer and no final score could be read from the output."""
        return not self.reviewers and all(v is None for v in self.final.values())

    @property
    def usable(self) -> bool:
        """Something came out: a reviewer, a final score, a decision or (Best turn 1) questions."""
        return not self.parse_failed or self.decision is not None or bool(self.questions)


def _fmt(value: Optional[float]) -> str:
    if value is None:
        return "n/a"
    return f"{round(value, 2):g}"


__all__ = ["SCORE_KEYS", "TEXT_KEYS", "Review", "ReviewerOpinion"]
