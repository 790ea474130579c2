"""CycleReviewer: the review / reward model (8B, 70B, 123B) over any engine.

    reviewer = CycleReviewer(model_size="8B")          # or model=..., engine=..., base_url=...
    results = reviewer.evaluate(paper_or_list)          # the original package's dicts, one per paper
    reviews = reviewer.review(paper_or_list)            # typed Review records

The system prompt is byte-exact (FORMATS.md §2; ``prompt_form="flush"`` by default, or the
packaged ``"indented"`` form); the user turn is the paper text as is. Sampling defaults are the
upstream ones (temperature 0.4, top_p 0.95, 7,000 new tokens, 50,000-token context).
"""

from __future__ import annotations

from typing import Any, Literal

from ..engines.base import Engine
from ..prompts import load
from .parse import parse_review
from .records import Review
from .runner import BaseReviewer, ReviewOutcome

PromptForm = Literal["flush", "indented"]


def system_prompt(form: PromptForm = "flush") -> str:
    """The CycleReviewer system prompt, verbatim (``flush``: 859 characters; ``indented``)."""
    forms = load("cyclereviewer")["system"]
    if form not in forms:
        from ..errors import InputError

        raise InputError(f"Unknown prompt form '{form}'. Use 'flush' (default) or 'indented'.")
    return forms[form]


class CycleReviewer(BaseReviewer):
    """Review papers with a CycleReviewer model; ``evaluate`` returns the original package's dicts."""

    family = "cyclereviewer"
    name = "cyclereviewer"

    def __init__(
        self,
        model_size: str = "8B",
        model: str | None = None,
        engine: str | Engine | None = None,
        base_url: str | None = None,
        *,
        prompt_form: PromptForm = "flush",
        custom_model_name: str | None = None,
        **kwargs: Any,
    ):
        self.prompt_form = prompt_form
        system_prompt(prompt_form)  # fail early on a bad form
        super().__init__(
            model if model is not None else (custom_model_name or model_size), engine, base_url, **kwargs
        )

    def system_prompt(self, **options: Any) -> str:
        return system_prompt(self.prompt_form)

    def parse(self, text: str, **options: Any) -> Review:
        return parse_review(text, "cyclereviewer")

    def evaluate(self, paper_context: Any, include_detailed_feedback: bool = True) -> list[dict[str, Any]]:
        """One dict per paper (a single paper gives a one-element list), shaped like the original
        package's result: ``avg_rating``, ``paper_decision``, ``rating``, ``reviews``,
        ``meta_review``, ... with ratings read correctly (10 stays 10)."""
        return [legacy_dict(o, include_detailed_feedback) for o in self.run(paper_context)]


def _meta_review_text(review: Review) -> str:
    """The meta review as the model wrote it, justification parts included."""
    parts = [review.meta_review or ""]
    if review.justification_higher is not None:
        parts.append(f"### justification_for_why_not_higher_score\n\n{review.justification_higher}")
    if review.justification_lower is not None:
        parts.append(f"### justification_for_why_not_lower_score\n\n{review.justification_lower}")
    return "\n\n".join(p for p in parts if p).strip()


def legacy_dict(outcome: ReviewOutcome, detailed: bool = True) -> dict[str, Any]:
    """The original package's per-paper dict, from our typed review.

    Lists run over the parsed reviewers; ``rating`` holds only the ratings that were actually
    parsed (a missing rating is not counted as 0), so ``avg_rating == mean(rating)``. Score
    fields other than ``rating`` keep the text the model wrote (``"3 good"``), as the original
    did; the numbers are in ``scores`` and in each entry of ``reviews``.
    """
    review = outcome.review or Review()
    ops = review.reviewers
    d: dict[str, Any] = {
        "paper_id": outcome.paper.id,
        "title": outcome.paper.title,
        "content": review.raw_text,
        "reviews": [op.to_dict() for op in ops],
        "rating": review.ratings,
        "review_rate": [op.scores_text.get("rating", "") for op in ops],
        "avg_rating": review.avg_rating,
        "min_rating": review.min_rating,
        "max_rating": review.max_rating,
        "scores": review.means,
        "paper_decision": review.decision,
        "decision": review.decision,
        "meta_review": _meta_review_text(review),
        "warnings": list(review.warnings),
        "error": outcome.error,
    }
    if detailed:
        d.update(
            {
                "summary": [op.summary or "" for op in ops],
                "soundness": [op.scores_text.get("soundness", "") for op in ops],
                "presentation": [op.scores_text.get("presentation", "") for op in ops],
                "contribution": [op.scores_text.get("contribution", "") for op in ops],
                "strength": [op.strengths or "" for op in ops],
                "weaknesses": [op.weaknesses or "" for op in ops],
                "questions": [op.questions or "" for op in ops],
                "flag_for_ethics_review": [op.ethics_flag or "" for op in ops],
                "confidence": [op.scores_text.get("confidence", "") for op in ops],
            }
        )
    return d


__all__ = ["CycleReviewer", "legacy_dict", "system_prompt"]
