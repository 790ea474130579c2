"""Presentation only: turn stored records into the small view models the templates show.

No parsing of model output happens here (paper.py and review/ did that); this module only
arranges already-parsed fields: LaTeX split at its section headings, experiment lists as tables,
review scores as rows. Jinja2 escapes every value, so model text never becomes markup.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup

from ..review.records import SCORE_KEYS
from .latex_html import Context, cite_labels, document_body, number_labels, section_html

_SECTION = re.compile(r"\\(section|subsection)\*?\s*\{([^{}]*)\}")
_TITLE = re.compile(r"\\title\s*\{[^{}]*(?:\{[^{}]*\}[^{}]*)*\}")
_ABSTRACT = re.compile(r"\\begin\{abstract\}.*?(?:\\end\{abstract\}|\Z)", re.S)


@dataclass
class Section:
    heading: str
    body: str
    level: int = 1
    results_part: bool = False
    # the body cut around numbers that match no supplied result: (text, ungrounded) pieces
    pieces: list[tuple[str, bool]] = field(default_factory=list)
    #: the body rendered (latex_html): paragraphs, lists, tables, citations, math
    html: str = ""


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


def sections(latex: str, results_part: bool = False) -> list[Section]:
    """The LaTeX body split at \\section / \\subsection (title and abstract left out: shown apart)."""
    text = _ABSTRACT.sub("", _TITLE.sub("", document_body(latex or ""))).strip()
    if not text:
        return []
    out: list[Section] = []
    matches = list(_SECTION.finditer(text))
    head = text[: matches[0].start()].strip() if matches else text
    if head:
        out.append(Section("", head, 1, results_part))
    for i, m in enumerate(matches):
        end = matches[i + 1].start() if i + 1 < len(matches) else len(text)
        level = 1 if m.group(1) == "section" else 2
        out.append(Section(m.group(2).strip(), text[m.end() : end].strip(), level, results_part))
    return out


def paper_sections(paper: dict[str, Any]) -> list[Section]:
    latex = str(paper.get("latex") or "")
    results = str(paper.get("results_latex") or "")
    main = latex[: len(latex) - len(results)].rstrip() if results and latex.endswith(results) else latex
    results_sections = sections(results, results_part=True)
    numbers = paper.get("ungrounded_numbers")
    if numbers:
        for section in results_sections:
            section.pieces = _marked(section.body, numbers)
    kinds: dict[str, str] = {}
    ctx = Context(number_labels(latex, kinds), kinds, cite_labels(paper.get("references_bib")))
    out = sections(main) + results_sections
    for section in out:
        section.html = section_html(section.body, ctx)
        if section.pieces:
            section.html = mark_numbers(section.html, [str(n.get("number", "")) for n in numbers or []])
    return out


_TAG = re.compile(r"(<[^>]*>)")


def mark_numbers(rendered: str, numbers: list[str]) -> Markup:
    """The rendered body with the ungrounded numbers marked (in text, never inside a tag)."""
    wanted = sorted({n for n in numbers if n and re.fullmatch(r"[\d.,%+\-]+", n)}, key=len, reverse=True)
    if not wanted:
        return Markup(rendered)  # noqa: S704 - rendered by latex_html, escaped there
    pat = re.compile(r"(?<![\w.])(" + "|".join(re.escape(n) for n in wanted) + r")(?![\w]|\.\d)")
    mark = '<mark class="ungrounded" title="matches none of the results">\\1</mark>'
    parts = _TAG.split(str(rendered))
    return Markup("".join(p if i % 2 else pat.sub(mark, p) for i, p in enumerate(parts)))  # noqa: S704


def _marked(body: str, numbers: list[dict[str, str]]) -> list[tuple[str, bool]]:
    """``body`` cut into pieces, the ungrounded numbers apart (the template marks them)."""
    from ..paper.grounding import ungrounded_spans

    spans = ungrounded_spans(body, numbers)
    if not spans:
        return []
    pieces, pos = [], 0
    for start, end in spans:
        pieces += [(body[pos:start], False), (body[start:end], True)]
        pos = end
    return [*pieces, (body[pos:], False)]


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
