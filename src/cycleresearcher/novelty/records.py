"""The typed records of the novelty check: what is checked (``Subject``), what it is checked
against (``Work``), what retrieval found (``Match``) and what the check says (``NoveltyReport``)."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Work:
    """One earlier work that may overlap the idea. ``source`` names where it was found
    (``references``, ``corpus:<file>``, ``cache``, ``online:<service>``)."""

    title: str
    abstract: str = ""
    year: str = ""
    source: str = ""
    key: str = ""  # a BibTeX key, paperId or file name: how the user finds it again
    url: str = ""

    @property
    def text(self) -> str:
        """What retrieval reads: the title, then the abstract (the title alone when it has none)."""
        return f"{self.title}. {self.abstract}".strip() if self.abstract else self.title

    def identity(self) -> str:
        """Equal for the same work seen in two sources (punctuation and case ignored)."""
        return re.sub(r"[^a-z0-9]+", "", self.title.lower())[:120]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Work:
        return cls(
            **{k: str(data.get(k) or "") for k in ("title", "abstract", "year", "source", "key", "url")}
        )


@dataclass
class Subject:
    """The paper or bare idea being checked. Its query texts are its motivation, idea, title and
    abstract (whichever it has); ``references`` are the works the paper itself cites."""

    label: str
    title: str = ""
    abstract: str = ""
    motivation: str = ""
    idea: str = ""
    references: list[Work] = field(default_factory=list)
    paper_id: str | None = None

    def queries(self) -> list[str]:
        return [t.strip() for t in (self.motivation, self.idea, self.title, self.abstract) if t and t.strip()]

    def describe(self) -> dict[str, Any]:
        return {"label": self.label, "title": self.title, "paper_id": self.paper_id}


@dataclass
class Overlap:
    """A sentence of the subject and the sentence of the work closest to it (cosine similarity)."""

    query_sentence: str
    work_sentence: str
    similarity: float


@dataclass
class Match:
    """One retrieved work: ``similarity`` is the embedding cosine (the calibrated measure; the
    lexical score when embeddings are off), ``rank`` its place after fusing the two rankings."""

    work: Work
    similarity: float
    rank: int
    lexical_rank: int | None = None
    embedding_rank: int | None = None
    overlaps: list[Overlap] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "work": self.work.to_dict(),
            "similarity": round(self.similarity, 4),
            "rank": self.rank,
            "lexical_rank": self.lexical_rank,
            "embedding_rank": self.embedding_rank,
            "overlaps": [asdict(o) | {"similarity": round(o.similarity, 4)} for o in self.overlaps],
        }


@dataclass
class JudgeAnswer:
    """The optional model judge's answer; shown beside the evidence, never instead of it."""

    decision: str  # "overlaps", "distinct" or "undecided" (see judge.DECISION_RULE)
    reason: str
    closest: str = ""
    model: str = ""
    raw: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class NoveltyReport:
    """The check of one subject: the matrix (``matches``), the verdict and what was searched."""

    subject: Subject
    matches: list[Match]
    verdict: str
    close: bool  # a match is at or above the threshold
    threshold: float
    measure: str  # what ``similarity`` is (embedding cosine, or the lexical fallback)
    searched: dict[str, int]  # works each source gave (a work two sources gave counts in both)
    works_searched: int  # distinct works compared
    warnings: list[str] = field(default_factory=list)
    judge: JudgeAnswer | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "subject": self.subject.describe(),
            "verdict": self.verdict,
            "close_prior_work": self.close,
            "threshold": self.threshold,
            "measure": self.measure,
            "works_searched": self.works_searched,
            "searched": dict(self.searched),
            "matches": [m.to_dict() for m in self.matches],
            "judge": self.judge.to_dict() if self.judge else None,
            "warnings": list(self.warnings),
        }


__all__ = ["JudgeAnswer", "Match", "NoveltyReport", "Overlap", "Subject", "Work"]
