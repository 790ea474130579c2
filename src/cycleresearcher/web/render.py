"""Presentation only: turn stored records into the small view models the templates show.

No parsing of model output happens here (paper/ and review/ did that, and paper/export/html.py
renders a paper's LaTeX); this module only arranges already-parsed fields: experiment lists as
tables, review scores as rows. Jinja2 escapes every value, so model text never becomes markup; the
exceptions are the paper's LaTeX text (its sections, abstract, experiments), rendered by
paper/export/html.py, which escapes it piece by piece.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup, escape

from ..models import display_name
from ..paper.export.html import Context, Section, inline, paper_context, text_html
from ..paper.export.html import paper_sections as html_sections
from ..review.records import SCORE_KEYS


@dataclass
class Experiment:
    """One experiment of a plan or of results; its texts are safe HTML, rendered from LaTeX like
    the paper's body (``Accuracy (\\%)`` reads "Accuracy (%)", as the plot of its table does)."""

    name: Markup
    description: Markup = Markup("")
    header: list[Markup] = field(default_factory=list)
    rows: list[list[Markup]] = field(default_factory=list)
    result_text: Markup = Markup("")
    extra: list[tuple[str, Markup]] = field(default_factory=list)
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


def paper_text(paper: dict[str, Any], ctx: Context | None = None) -> dict[str, Markup]:
    """The paper's abstract, motivation and main idea rendered like its body (``$\\alpha$`` -> α,
    ``12\\%`` -> 12%, citations as labels; ``ctx``: ``paper_context(paper)``), marked safe."""
    ctx = ctx or paper_context(paper)
    return {k: Markup(text_html(str(paper.get(k) or ""), ctx)) for k in ("abstract", "motivation", "idea")}  # noqa: S704


def _cell(v: Any, ctx: Context) -> Markup:
    """One value of an experiment (a table cell, a note) as safe HTML: text read as LaTeX; a list of
    texts joined; anything else as JSON text."""
    if v is None:
        return Markup("")
    if isinstance(v, list) and all(isinstance(x, (str, int, float)) for x in v):
        return Markup("; ".join(inline(str(x), ctx) for x in v))  # noqa: S704 - escaped by inline
    if isinstance(v, (dict, list)):
        return escape(json.dumps(v, ensure_ascii=False))
    return Markup(inline(str(v), ctx))  # noqa: S704 - escaped by inline


def _note(v: Any, ctx: Context) -> Markup:
    """A result's other field (``notes``): a list of texts as a list, one text as a paragraph."""
    if isinstance(v, list) and len(v) > 1 and all(isinstance(x, (str, int, float)) for x in v):
        return Markup("<ul>" + "".join(f"<li>{inline(str(x), ctx)}</li>" for x in v) + "</ul>")  # noqa: S704
    return _cell(v, ctx)


def _text(v: Any, ctx: Context) -> Markup:
    if isinstance(v, str):  # the user's JSON: a bare % is a percent sign, as in the LaTeX export
        return Markup(text_html(v, ctx, comments=False))  # noqa: S704 - escaped by text_html
    return _cell(v, ctx)


def experiments(value: Any, ctx: Context | None = None) -> list[Experiment]:
    """An experiment setup / results list (FORMATS.md §1) as named items with tables, their texts
    rendered from LaTeX (``ctx``: the paper's citations and labels)."""
    if value is None:
        return []
    ctx = ctx or Context()
    items = value if isinstance(value, list) else [value]
    out = []
    for i, item in enumerate(items, 1):
        if not isinstance(item, dict):
            out.append(Experiment(Markup(f"Item {i}"), result_text=_text(item, ctx)))
            continue
        name = _cell(item.get("name"), ctx) if item.get("name") else Markup(f"Experiment {i}")
        exp = Experiment(name, _text(item.get("description"), ctx))
        result = item.get("result")
        if isinstance(result, dict):
            table = result.get("table")
            if isinstance(table, list) and table and all(isinstance(r, list) for r in table):
                width = max(len(r) for r in table)
                rows = [[_cell(c, ctx) for c in r] + [Markup("")] * (width - len(r)) for r in table]
                exp.header, exp.rows = rows[0], rows[1:]
            elif table is not None:
                exp.result_text = _text(table, ctx)
            if result.get("description"):
                exp.result_text += _text(result["description"], ctx)
            exp.extra = [(k, _note(v, ctx)) for k, v in result.items() if k not in ("table", "description")]
        elif result is not None:
            exp.result_text = _text(result, ctx)
        exp.extra += [(k, _note(v, ctx)) for k, v in item.items() if k not in ("name", "description", "result")]
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
    #: the reviewers (numbered from 1) with no rating parsed, left out of avg / min / max
    unrated: list[int] = field(default_factory=list)
    #: what the ``final`` row is: DeepReviewer's final review, CycleReviewer's mean over reviewers
    final_label: str = "final"


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
    reviewers = review.get("reviewers") or []
    ratings = [op.get("rating") for op in reviewers if op.get("rating") is not None]
    deep = outcome.get("reviewer") == "deepreviewer"
    scored = sum(any(op.get(k) is not None for k in SCORE_KEYS) for op in reviewers)
    if not deep and scored < 2:  # CycleReviewer's final is the reviewers' mean: one row's copy
        has_final = False
    meta = review.get("meta_review") or (review.get("final_text") or {}).get("summary") or ""
    return ReviewView(
        reviewer="DeepReviewer" if deep else "CycleReviewer",
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
        model=display_name(str(outcome["model"])) if outcome.get("model") else "",
        raw_text=str(review.get("raw_text") or ""),
        final_rating=num(final.get("rating")) if not ratings and final.get("rating") is not None else None,
        hidden=[dict(h) for h in outcome.get("hidden_text") or [] if isinstance(h, dict)],
        hidden_kept=bool(outcome.get("hidden_text_kept")),
        unrated=[i for i, op in enumerate(reviewers, 1) if op.get("rating") is None] if ratings else [],
        final_label="final" if deep else "mean",
    )
