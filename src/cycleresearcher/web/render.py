"""Presentation only: turn stored records into the small view models the templates show.

No parsing of model output happens here (paper/ and review/ did that, and paper/export/html.py
renders a paper's LaTeX); this module only arranges already-parsed fields: experiment lists as
tables, review scores as rows. Jinja2 escapes every value, so model text never becomes markup; the
one exception is a section's HTML, escaped piece by piece where it is rendered.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup

from ..paper.export.html import Section
from ..paper.export.html import paper_sections as html_sections
from ..review.records import SCORE_KEYS


@dataclass
class Experiment:
    name: str
    description: str = ""
    header: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    result_text: str = ""
    extra: list[tuple[str, str]] = field(default_factory=list)
    figure: str = ""  # URL of the plot of its table (exports draw it), or ""


FIGURE_NAME = re.compile(r"results-\d{1,4}\.png")


def with_figures(items: list[Experiment], folder: Any, url: str) -> list[Experiment]:
    """Link each experiment to the plot the export drew of its table (``results-N.png``)."""
    for i, item in enumerate(items, 1):
        if (folder / f"results-{i}.png").is_file():
            item.figure = f"{url}/results-{i}.png"
    return items


def paper_sections(paper: dict[str, Any]) -> list[Section]:
    """The paper's sections rendered (paper/export/html.py), their HTML marked safe for the page."""
    out = html_sections(paper)
    for section in out:
        section.html = Markup(section.html)  # noqa: S704 - every piece escaped by paper/export/html.py
    return out


def _cell(v: Any) -> str:
    if isinstance(v, (dict, list)):
        return json.dumps(v, ensure_ascii=False)
    return "" if v is None else str(v)


def experiments(value: Any) -> list[Experiment]:
    """An experiment setup / results list (FORMATS.md §1) as named items with tables."""
    if value is None:
        return []
    items = value if isinstance(value, list) else [value]
    out = []
    for i, item in enumerate(items, 1):
        if not isinstance(item, dict):
            out.append(Experiment(f"Item {i}", result_text=_cell(item)))
            continue
        exp = Experiment(str(item.get("name") or f"Experiment {i}"), _cell(item.get("description")))
        result = item.get("result")
        if isinstance(result, dict):
            table = result.get("table")
            if isinstance(table, list) and table and all(isinstance(r, list) for r in table):
                width = max(len(r) for r in table)
                rows = [[_cell(c) for c in r] + [""] * (width - len(r)) for r in table]
                exp.header, exp.rows = rows[0], rows[1:]
            elif table is not None:
                exp.result_text = _cell(table)
            if result.get("description"):
                exp.result_text = (exp.result_text + "\n" + _cell(result["description"])).strip()
            exp.extra = [(k, _cell(v)) for k, v in result.items() if k not in ("table", "description")]
        elif result is not None:
            exp.result_text = _cell(result)
        exp.extra += [(k, _cell(v)) for k, v in item.items() if k not in ("name", "description", "result")]
        out.append(exp)
    return out


def num(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, float):
        return f"{round(value, 2):g}"
    return str(value)


def percent(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "uncalibrated"
    return f"{100 * float(value):.1f}%"


@dataclass
class ReviewView:
    reviewer: str
    mode: str | None
    decision: str | None
    avg: str
    min: str
    max: str
    n_ratings: int
    score_keys: tuple[str, ...]
    rows: list[dict[str, Any]]
    final: list[str] | None
    meta_review: str
    warnings: list[str]
    error: str | None
    model: str
    raw_text: str = ""
    #: the final review's rating where no reviewer has one (DeepReviewer Fast mode)
    final_rating: str | None = None
    #: hidden text found in the paper (kind, where, excerpt) and whether the reviewer read it
    hidden: list[dict[str, str]] = field(default_factory=list)
    hidden_kept: bool = False


def review_view(outcome: dict[str, Any]) -> ReviewView:
    """A stored review outcome (``ReviewOutcome.to_dict``) as rows of scores and texts."""
    review = outcome.get("review") or {}
    rows = []
    for i, op in enumerate(review.get("reviewers") or [], 1):
        rows.append(
            {
                "n": i,
                "scores": [num(op.get(k)) for k in SCORE_KEYS],
                "summary": op.get("summary") or "",
                "strengths": op.get("strengths") or "",
                "weaknesses": op.get("weaknesses") or "",
                "questions": op.get("questions") or "",
            }
        )
    final = review.get("final") or {}
    has_final = any(final.get(k) is not None for k in SCORE_KEYS)
    ratings = [op.get("rating") for op in review.get("reviewers") or [] if op.get("rating") is not None]
    meta = review.get("meta_review") or (review.get("final_text") or {}).get("summary") or ""
    return ReviewView(
        reviewer={"deepreviewer": "DeepReviewer"}.get(str(outcome.get("reviewer")), "CycleReviewer"),
        mode=outcome.get("mode"),
        decision=review.get("decision"),
        avg=num(review.get("avg_rating")),
        min=num(review.get("min_rating")),
        max=num(review.get("max_rating")),
        n_ratings=len(ratings),
        score_keys=SCORE_KEYS,
        rows=rows,
        final=[num(final.get(k)) for k in SCORE_KEYS] if has_final else None,
        meta_review=meta,
        warnings=list(review.get("warnings") or []),
        error=outcome.get("error"),
        model=str(outcome.get("model") or ""),
        raw_text=str(review.get("raw_text") or ""),
        final_rating=num(final.get("rating")) if not ratings and final.get("rating") is not None else None,
        hidden=[dict(h) for h in outcome.get("hidden_text") or [] if isinstance(h, dict)],
        hidden_kept=bool(outcome.get("hidden_text_kept")),
    )
