"""Paper-quality table (FORMATS.md §5): per group of reviewed papers, Avg Min / Avg Max / Avg Score,
Accept Rate, soundness / presentation / contribution means, papers and failed parses.

Rules (also printed under the table):
- a paper's ratings are its parsed reviewers' ratings (the final rating alone when the output has no
  per-reviewer part); Avg Min / Avg Max = per-paper min / max averaged over papers;
- Avg Score and the dimension means average the paper-level score (the model's final score, else
  the mean of its parsed reviewers) over papers;
- papers without a single parsed rating are counted in ``failed`` and left out of every average;
- papers with no review at all (a failed request) are no failed parse: they are left out of the
  row and named under the table;
- Accept Rate = accepted / decided parsed papers, by the reviewer's decision (default) or by
  ``paper-level rating >= threshold``.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from statistics import fmean

from .records import ACCEPT, ReviewedPaper
from .tables import Column, ResultTable

CI_LEVEL = 0.95
N_RESAMPLES = 2000


@dataclass
class QualityRow:
    group: str
    papers: int
    failed: int
    avg_min: float | None
    avg_max: float | None
    avg_score: float | None
    accept_rate: float | None
    accepted: int
    decided: int
    soundness: float | None
    presentation: float | None
    contribution: float | None
    #: bootstrap 95% intervals (percentile method, resampling papers) when requested
    ci: dict[str, tuple[float, float]] = field(default_factory=dict)
    #: "<paper id> (<why>)" of the papers with no review (a failed request): not in ``papers``
    not_reviewed: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        row = {k: v for k, v in self.__dict__.items() if k not in {"ci", "not_reviewed"}}
        row.update({f"{k}_ci": v for k, v in self.ci.items()})
        row["accept_rate_detail"] = f"{self.accepted}/{self.decided}"
        return row


def accept_rule(threshold: float | None) -> str:
    if threshold is None:
        return "Accept = the reviewer's decision is Accept (papers without a decision are not counted)"
    return f"Accept = paper-level rating >= {threshold:g}"


def is_accepted(paper: ReviewedPaper, threshold: float | None) -> bool | None:
    """True / False, or None when the rule cannot decide (no decision, no rating)."""
    if threshold is None:
        return None if paper.decision is None else paper.decision == ACCEPT
    rating = paper.score("rating")
    return None if rating is None else rating >= threshold


def quality_row(
    group: str,
    papers: Sequence[ReviewedPaper],
    accept_threshold: float | None = None,
    ci: bool = False,
    seed: int = 0,
) -> QualityRow:
    unreviewed = [f"{p.paper_id} ({p.not_reviewed})" for p in papers if p.not_reviewed]
    papers = [p for p in papers if not p.not_reviewed]
    parsed = [p for p in papers if p.parsed]
    mins = [min(p.ratings) for p in parsed]
    maxs = [max(p.ratings) for p in parsed]
    scores = [s for p in parsed if (s := p.score("rating")) is not None]
    decisions = [d for p in parsed if (d := is_accepted(p, accept_threshold)) is not None]
    dims = {
        d: [s for p in parsed if (s := p.score(d)) is not None]
        for d in ("soundness", "presentation", "contribution")
    }
    row = QualityRow(
        group=group,
        papers=len(papers),
        failed=len(papers) - len(parsed),
        avg_min=_mean(mins),
        avg_max=_mean(maxs),
        avg_score=_mean(scores),
        accept_rate=_mean([float(d) for d in decisions]),
        accepted=sum(decisions),
        decided=len(decisions),
        soundness=_mean(dims["soundness"]),
        presentation=_mean(dims["presentation"]),
        contribution=_mean(dims["contribution"]),
        not_reviewed=unreviewed,
    )
    if ci:
        samples = {
            "avg_min": mins,
            "avg_max": maxs,
            "avg_score": scores,
            "accept_rate": [float(d) for d in decisions],
        }
        samples.update(dims)
        for key, values in samples.items():
            interval = bootstrap_ci(values, seed=seed)
            if interval is not None:
                row.ci[key] = interval
    return row


def paper_quality(
    papers: Iterable[ReviewedPaper], accept_threshold: float | None = None, ci: bool = False, seed: int = 0
) -> list[QualityRow]:
    """One row per ``paper.group``, groups in first-seen order."""
    groups: dict[str, list[ReviewedPaper]] = {}
    for paper in papers:
        groups.setdefault(paper.group, []).append(paper)
    return [quality_row(g, ps, accept_threshold, ci, seed) for g, ps in groups.items()]


def quality_table(
    rows: Sequence[QualityRow], accept_threshold: float | None = None, ci: bool = False
) -> ResultTable:
    columns = [
        Column("group", "Group", "str"),
        Column("papers", "Papers", "int"),
        Column("failed", "Failed parses", "int"),
        Column("avg_min", "Avg Min Score"),
        Column("avg_max", "Avg Max Score"),
        Column("avg_score", "Avg Score"),
        Column("accept_rate", "Accept Rate", "pct"),
        Column("soundness", "Soundness"),
        Column("presentation", "Presentation"),
        Column("contribution", "Contribution"),
    ]
    notes = [
        accept_rule(accept_threshold) + "; Accept Rate shows accepted/decided.",
        "Min/Max: per-paper min/max over parsed reviewers, averaged over papers; Avg Score and dimension "
        "means: paper-level score (final score, else mean of parsed reviewers) averaged over papers.",
        "Failed parses: papers without a single parsed rating; counted in Papers, left out of every average.",
    ]
    for row in rows:
        if row.not_reviewed:
            more = ", ..." if len(row.not_reviewed) > 5 else ""
            notes.append(
                f"Not reviewed, not counted ({row.group}): {len(row.not_reviewed)} paper(s), "
                f"{', '.join(row.not_reviewed[:5])}{more}. Rerun the review with --resume to retry them."
            )
    if ci:
        notes.append(
            f"[low, high]: bootstrap {CI_LEVEL:.0%} interval over papers (percentile, {N_RESAMPLES} resamples, seeded)."
        )
    return ResultTable("Paper quality", columns, [r.to_dict() for r in rows], notes)


def bootstrap_ci(values: Sequence[float], seed: int = 0) -> tuple[float, float] | None:
    """Percentile bootstrap interval of the mean (scipy), or None with fewer than two values."""
    if len(values) < 2:
        return None
    import numpy as np
    from scipy.stats import bootstrap

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # constant samples give a degenerate (but correct) interval
        res = bootstrap(
            (np.asarray(values, dtype=float),),
            np.mean,
            n_resamples=N_RESAMPLES,
            confidence_level=CI_LEVEL,
            method="percentile",
            rng=np.random.default_rng(seed),
        )
    low, high = float(res.confidence_interval.low), float(res.confidence_interval.high)
    return low, high


def _mean(values: Sequence[float]) -> float | None:
    return fmean(values) if values else None
