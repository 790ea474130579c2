"""DeepReviewer (7B, 14B) in Fast, Standard and Best mode over any engine.

    reviewer = DeepReviewer(model_size="14B")            # or model=..., engine=..., base_url=...
    results = reviewer.evaluate(paper, mode="Standard Mode", reviewer_num=4)   # original dicts
    reviews = reviewer.review(paper, mode="best")                              # typed Reviews

Best mode is a two-turn chat: turn 1 writes ``\\boxed_questions{...}`` (three search questions)
and an analysis; a retriever answers the questions; turn 2 is the user message built by
``build_qa_message`` byte for byte in the layout the model was trained on (FORMATS.md §3), and the
model then writes the simulated reviewers, the verification and the final review. With no
retrieval service the offline ``LocalRetriever`` answers from the paper itself; when retrieval
fails, the answers are "No information retrieved." and the review says so in a warning.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from ..engines.base import ChatRequest, Engine, Message, SamplingParams
from ..errors import InputError
from ..prompts import load
from ..store import RunStore, request_key
from .context import SAFETY_MARGIN, FittedPaper, PaperInput
from .parse import parse_review
from .records import Review
from .retrieval import NoRetriever, RetrievalError, RetrievalResult, Retriever, make_retriever
from .runner import BaseReviewer, Progress, ReviewOutcome

Mode = Literal["fast", "standard", "best"]
BestVariant = Literal["library", "authors"]

_MODE_NAMES = {
    "fast": "fast",
    "fast mode": "fast",
    "standard": "standard",
    "standard mode": "standard",
    "best": "best",
    "best mode": "best",
}


def normalize_mode(mode: str) -> Mode:
    """``"Standard Mode"`` / ``"standard"`` -> ``"standard"`` (the original package used the former)."""
    key = re.sub(r"\s+", " ", str(mode or "")).strip().lower()
    if key not in _MODE_NAMES:
        raise InputError(
            f"Unknown DeepReviewer mode '{mode}'. Use 'Fast Mode', 'Standard Mode' or 'Best Mode' (or fast / standard / best)."
        )
    return _MODE_NAMES[key]  # type: ignore[return-value]


def system_prompt(
    mode: str = "standard", reviewer_num: int = 4, best_variant: BestVariant = "library"
) -> str:
    """The DeepReviewer system prompt, verbatim, with ``{n}`` = ``reviewer_num``.

    ``best_variant="authors"`` gives the Best text of the authors' own evaluation runs (no leading
    "You are an expert ..." sentence, a space before "When you simulate")."""
    if int(reviewer_num) < 1:
        raise InputError(f"reviewer_num must be >= 1, got {reviewer_num}")
    prompts = load("deepreviewer")["system"]
    m = normalize_mode(mode)
    if best_variant not in ("library", "authors"):
        raise InputError(f"Unknown Best-mode prompt variant '{best_variant}'. Use 'library' or 'authors'.")
    key = "best_authors" if (m == "best" and best_variant == "authors") else m
    return prompts[key].replace("{n}", str(int(reviewer_num)))


def _fill(template: str, values: dict[str, str]) -> str:
    """Substitute ``{name}`` placeholders in one pass (a question containing "{answer}" stays as is)."""
    return re.sub(r"\{(\w+)\}", lambda m: values.get(m.group(1), m.group(0)), template)


def _result_fields(result: RetrievalResult | dict[str, Any]) -> tuple[str, str]:
    if isinstance(result, RetrievalResult):
        return result.passages, result.output
    passages = result.get("final_passages", result.get("passages", ""))
    return ("" if passages is None else str(passages)), str(result.get("output") or "")


def build_qa_message(questions: list[str], results: list[RetrievalResult | dict[str, Any]]) -> str:
    """Best mode, turn 2: the user message with each question, its passages and its answer.

    Per question i (1-based): ``## Question {i}\\n\\n{question}\\n\\n### Passage\\n\\n{passages}\\n\\n
    ### Answer\\n\\n{answer}\\n\\n**********\\n\\n``, where the service's `` Text: `` separator in the
    passages becomes `` **--**Text: ``. ``results`` may be RetrievalResults or the service's dicts
    (``output``, ``final_passages``); a missing result answers "No information retrieved."."""
    spec = load("deepreviewer")
    old, new = spec["passage_text_separator"]
    parts = []
    for i, question in enumerate(questions, 1):
        if i <= len(results) and results[i - 1] is not None:
            passages, answer = _result_fields(results[i - 1])
        else:
            passages = answer = spec["no_retrieval"]
        values = {"i": str(i), "question": question, "passages": passages.replace(old, new), "answer": answer}
        parts.append(_fill(spec["qa_item"], values))
    return "".join(parts)


class DeepReviewer(BaseReviewer):
    """Review papers with a DeepReviewer model; ``evaluate`` returns the original package's dicts."""

    family = "deepreviewer"
    name = "deepreviewer"

    def __init__(
        self,
        model_size: str = "14B",
        model: str | None = None,
        engine: str | Engine | None = None,
        base_url: str | None = None,
        *,
        retriever: str | Retriever | None = None,
        best_variant: BestVariant = "library",
        custom_model_name: str | None = None,
        **kwargs: Any,
    ):
        self.retriever = make_retriever(retriever)
        self.best_variant = best_variant
        super().__init__(
            model if model is not None else (custom_model_name or model_size), engine, base_url, **kwargs
        )

    # -- hooks ---------------------------------------------------------------------------------
    def system_prompt(self, mode: str = "standard", reviewer_num: int = 4, **_: Any) -> str:
        return system_prompt(mode, reviewer_num, self.best_variant)

    def mode_of(self, mode: str = "standard", **_: Any) -> str:
        return normalize_mode(mode)

    def structure_name(self, turn: int = 1, mode: str = "standard", **_: Any) -> str:
        m = normalize_mode(mode)
        return f"deepreviewer-best{turn}" if m == "best" else f"deepreviewer-{m}"

    def stage(self, mode: str = "standard", **_: Any) -> str:
        m = normalize_mode(mode)
        return "review-best-1" if m == "best" else f"review-{m}"

    def requests_per_paper(self, mode: str = "standard", **_: Any) -> int:
        return 2 if normalize_mode(mode) == "best" else 1

    def fewer_reviews_hint(self, mode: str = "standard", reviewer_num: int = 4, **_: Any) -> str:
        if normalize_mode(mode) == "fast":  # one final review, no simulated reviewers
            return ""
        return f", or ask for fewer simulated reviewers (--reviewers, now {reviewer_num})"

    def parse(self, text: str, mode: str = "standard", **_: Any) -> Review:
        review = parse_review(text, "deepreviewer")
        review.mode = normalize_mode(mode)
        return review

    def run(
        self,
        papers: Any,
        *,
        store: RunStore | None = None,
        progress: Progress | None = None,
        mode: str = "standard",
        reviewer_num: int = 4,
        **options: Any,
    ) -> list[ReviewOutcome]:  # type: ignore[override]
        self._reviewer_num = reviewer_num  # Best turn 2 builds its grammar from it
        return super().run(
            papers, store=store, progress=progress, mode=mode, reviewer_num=reviewer_num, **options
        )

    def evaluate(
        self,
        paper_context: Any,
        mode: str = "Standard Mode",
        reviewer_num: int = 4,
        max_tokens: int | None = None,
    ) -> list[dict[str, Any]]:
        """One dict per paper, shaped like the original package's result (``raw_text``,
        ``reviews``, ``meta_review``, ``decision``), with every score parsed."""
        if max_tokens is not None:
            self.sampling.max_tokens = max_tokens
        return [legacy_dict(o) for o in self.run(paper_context, mode=mode, reviewer_num=reviewer_num)]

    # -- Best mode -------------------------------------------------------------------------------
    def _finish(self, todo, results, *, store=None, progress=None, mode="standard", **options):  # type: ignore[override]
        if normalize_mode(mode) != "best":
            return super()._finish(todo, results, mode=mode, **options)
        outcomes: list[ReviewOutcome | None] = [None] * len(todo)
        second: list[tuple[int, Review, list[str], list[RetrievalResult], ChatRequest, list[str]]] = []
        for j, ((_i, paper, fitted, request), res) in enumerate(zip(todo, results, strict=True)):
            if not res.ok:
                outcomes[j] = self._outcome(paper, None, fitted, f"turn 1 failed: {res.error}", "best")
                if progress:
                    progress(1)
                continue
            turn1 = self.parse(res.text, mode="best")
            self._note_finish(turn1, res)
            if not turn1.questions:
                turn1.warnings.append(
                    "Best mode: turn 1 asked no \\boxed_questions; its output is the review (no turn 2)"
                )
                outcomes[j] = self._outcome(paper, turn1, fitted, None, "best")
                outcomes[j].turns = [res.text]
                if progress:
                    progress(1)
                continue
            answers, warnings = self._retrieve(
                store, request_key(self.stage(mode="best"), request), paper, turn1.questions
            )
            req2, fit_warnings = self._turn2_request(request, res.text, turn1.questions, answers, fitted)
            second.append((j, turn1, warnings + fit_warnings, answers, req2, [res.text]))
        results2 = self._generate(store, "review-best-2", [s[4] for s in second], progress)
        for (j, turn1, warnings, answers, _req, turns), res2 in zip(second, results2, strict=True):
            _i, paper, fitted, _ = todo[j]
            if not res2.ok:
                outcome = self._outcome(paper, turn1, fitted, f"turn 2 failed: {res2.error}", "best")
            else:
                review = self.parse(res2.text, mode="best")
                self._note_finish(review, res2)
                review.questions = list(turn1.questions)
                review.analysis = review.analysis or turn1.analysis
                review.blocks = turn1.blocks + review.blocks
                review.warnings = warnings + [f"turn 1: {w}" for w in turn1.warnings] + review.warnings
                outcome = self._outcome(paper, review, fitted, None, "best")
                turns = turns + [res2.text]
            outcome.turns = turns
            outcome.retrieval = [a.to_dict() for a in answers]
            outcomes[j] = outcome
        return [o for o in outcomes if o is not None]

    def _retrieve(
        self, store: RunStore | None, key: str, paper: PaperInput, questions: list[str]
    ) -> tuple[list[RetrievalResult], list[str]]:
        """Answers for the questions: the stored ones on resume, else the retriever's; on failure
        "No information retrieved." and a warning."""
        if store is not None:
            cached = store.get("retrieval", key)
            if cached is not None:
                return [RetrievalResult.from_dict(r) for r in cached["results"]], list(
                    cached.get("warnings", [])
                )
        warnings: list[str] = []
        try:
            answers = self.retriever.for_paper(paper.text, paper.bibtex).ask(questions)
            backend = self.retriever.describe()
        except RetrievalError as exc:
            warnings.append(
                f"retrieval unavailable ({exc}); Best mode went on with 'No information retrieved.'"
            )
            answers = NoRetriever().ask(questions)
            backend = NoRetriever().describe()
        if isinstance(self.retriever, NoRetriever):
            warnings.append("retrieval disabled; Best mode answered 'No information retrieved.'")
        if store is not None:
            store.put(
                "retrieval",
                key,
                {
                    "questions": questions,
                    "results": [a.to_dict() for a in answers],
                    "warnings": warnings,
                    "backend": backend,
                },
            )
        return answers, warnings

    def _turn2_request(
        self,
        turn1_request: ChatRequest,
        turn1_text: str,
        questions: list[str],
        answers: list[RetrievalResult],
        fitted: FittedPaper,
    ) -> tuple[ChatRequest, list[str]]:
        """The turn-2 chat; when it does not fit the context, the passages are shortened (the
        questions and answers stay), then the generation budget shrinks."""
        history: list[Message] = list(turn1_request.messages) + [{"role": "assistant", "content": turn1_text}]
        ctx, want = self.context_length, fitted.max_tokens
        floor = min(want, 512)
        warnings: list[str] = []
        for keep in (1.0, 0.5, 0.25, 0.1, 0.0):
            shortened = [
                RetrievalResult(a.output, a.passages[: int(len(a.passages) * keep)], a.extra) for a in answers
            ]
            messages = history + [{"role": "user", "content": build_qa_message(questions, shortened)}]
            room = ctx - self.engine.count_tokens(messages) - SAFETY_MARGIN
            if room >= floor:
                break
        if keep < 1.0:
            warnings.append(
                f"Best mode turn 2: retrieved passages cut to {keep:.0%} of their length to fit the {ctx}-token context"
            )
        gen = max(1, min(want, room))
        if gen < want:
            warnings.append(
                f"Best mode turn 2: max_tokens lowered from {want} to {gen} to fit the {ctx}-token context"
            )
        sampling = SamplingParams(**{**turn1_request.sampling.to_dict(), "max_tokens": gen})
        if turn1_request.sampling.grammar:  # turn 2 has its own structure
            sampling.grammar = self.grammar(2, gen, mode="best", reviewer_num=self._reviewer_num)
            sampling.grammar_optional = self.session.grammar_optional()
        return ChatRequest(
            messages=messages, sampling=sampling, request_id=turn1_request.request_id
        ), warnings


def _final_content(review: Review) -> str:
    """The final review rendered in the model's ``## Key:`` layout (the original ``content``)."""
    parts = []
    for key in (
        "summary",
        "soundness",
        "presentation",
        "contribution",
        "strengths",
        "weaknesses",
        "suggestions",
        "questions",
        "rating",
        "confidence",
    ):
        value = review.final.get(key) if key in review.final else review.final_text.get(key)
        if value is not None and value != "":
            parts.append(
                f"## {key.capitalize()}:\n\n{value:g}"
                if isinstance(value, float)
                else f"## {key.capitalize()}:\n\n{value}"
            )
    if review.decision:
        parts.append(f"## Decision:\n\n{review.decision}")
    return "\n\n".join(parts)


def legacy_dict(outcome: ReviewOutcome) -> dict[str, Any]:
    """The original package's per-paper dict: ``raw_text``, ``reviews`` (one dict per simulated
    reviewer with ``reviewer_id`` and numeric scores), ``meta_review`` (the final review: text
    sections, numeric scores, ``content``) and ``decision``; plus our aggregates and warnings."""
    review = outcome.review or Review()
    meta: dict[str, Any] = {k: v for k, v in review.final_text.items()}
    meta.update({k: v for k, v in review.final.items() if v is not None})
    if review.final_text or any(v is not None for v in review.final.values()):
        meta["content"] = _final_content(review)
    return {
        "paper_id": outcome.paper.id,
        "title": outcome.paper.title,
        "mode": outcome.mode,
        "raw_text": review.raw_text,
        "reviews": [{"reviewer_id": i, **op.to_dict()} for i, op in enumerate(review.reviewers, 1)],
        "meta_review": meta,
        "decision": review.decision or "",
        "rating": review.final.get("rating"),
        "avg_rating": review.avg_rating,
        "min_rating": review.min_rating,
        "max_rating": review.max_rating,
        "questions": list(review.questions),
        "retrieval": list(outcome.retrieval),
        "warnings": list(review.warnings),
        "error": outcome.error,
    }


__all__ = ["DeepReviewer", "build_qa_message", "legacy_dict", "normalize_mode", "system_prompt"]
