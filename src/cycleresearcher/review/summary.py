"""The readable per-paper summary of a review that the CLI prints: scores per reviewer, main
points, meta review, decision and avg/min/max."""

from __future__ import annotations

from typing import Any

from ..latex import plain_title
from .hidden_report import headline
from .records import SCORE_KEYS
from .runner import ReviewOutcome


def _num(value: float | None) -> str:
    return "n/a" if value is None else f"{round(value, 2):g}"


class _Heading:
    """The rule over a summary: the title, then the paper's id. A long title is cut (with "…")
    to leave room for the id, which rich's own cut dropped: the id tells reviews apart."""

    def __init__(self, title: str, paper_id: str) -> None:
        self.title, self.paper_id = title, paper_id

    def __rich_console__(self, console: Any, options: Any) -> Any:
        from rich.rule import Rule
        from rich.text import Text

        tail = f" ({self.paper_id})"
        title = Text(self.title, style="bold")  # a Text: brackets in a title are not markup
        # the rule keeps 2 cells for itself after the title
        title.truncate(max(options.max_width - 2 - len(tail), 1), overflow="ellipsis")
        yield Rule(title + tail, align="left")


def summary_renderable(outcome: ReviewOutcome) -> Any:
    """A rich renderable: scores per reviewer, main points, meta review, decision, avg/min/max."""
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    from ..markdown_text import first_point

    title = plain_title(outcome.paper.title) or outcome.paper.id
    parts: list[Any] = [_Heading(title, outcome.paper.id)]
    if outcome.paper.hidden:  # said first: it may explain everything below
        parts.append(
            Text(
                "Hidden text: " + headline(outcome.paper.hidden, outcome.paper.hidden_kept), style="bold red"
            )
        )
        for h in outcome.paper.hidden:
            parts.append(Text(f"  {h.kind} ({h.where}): {h.excerpt}", style="red"))
    if outcome.review is None:
        parts.append(Text(f"Not reviewed: {outcome.error}", style="red"))
        return Group(*parts)
    review = outcome.review
    table = Table(show_edge=False, pad_edge=False)
    table.add_column("Reviewer")
    for key in SCORE_KEYS:
        table.add_column(key.capitalize(), justify="right")
    for i, op in enumerate(review.reviewers, 1):
        table.add_row(str(i), *(_num(getattr(op, k)) for k in SCORE_KEYS))
    if any(v is not None for v in review.final.values()):
        table.add_row("[bold]final[/]", *(_num(review.final.get(k)) for k in SCORE_KEYS))
    if table.row_count:
        parts.append(table)
    for i, op in enumerate(review.reviewers, 1):
        plus, minus = first_point(op.strengths), first_point(op.weaknesses)
        if plus or minus:
            parts.append(Text(f"R{i}  + {plus or '-'}\n    - {minus or '-'}"))
    if not review.reviewers:  # DeepReviewer Fast mode: the points are the final review's
        plus, minus = (first_point(review.final_text.get(k)) for k in ("strengths", "weaknesses"))
        if plus or minus:
            parts.append(Text(f"Final  + {plus or '-'}\n       - {minus or '-'}"))
    meta = review.meta_review or review.final_text.get("summary")
    if meta:
        short = meta.strip() if len(meta) <= 600 else meta.strip()[:599] + "…"
        parts.append(Text("Meta review: ", style="bold") + Text(short))
    decision = review.decision or "not given"
    style = {"Accept": "green", "Reject": "red"}.get(review.decision or "", "yellow")
    line = Text("Decision: ", style="bold") + Text(decision, style=f"bold {style}")
    if review.ratings or review.final.get("rating") is None:
        line += Text(
            f"   rating avg {_num(review.avg_rating)} / min {_num(review.min_rating)} / max {_num(review.max_rating)}"
            f" over {len(review.ratings)} reviewer(s)"
        )
    else:  # DeepReviewer Fast mode: only the final review has scores
        line += Text(f"   final rating {_num(review.final.get('rating'))} (no per-reviewer ratings)")
    parts.append(line)
    if outcome.error:
        parts.append(Text(f"Error: {outcome.error}", style="red"))
    if review.warnings:
        shown = "; ".join(review.warnings[:3]) + (
            f" (+{len(review.warnings) - 3} more)" if len(review.warnings) > 3 else ""
        )
        parts.append(Text(f"Warnings ({len(review.warnings)}): {shown}", style="yellow"))
    return Group(*parts)


__all__ = ["summary_renderable"]
