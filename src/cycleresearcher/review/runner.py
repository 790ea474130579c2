"""Reviewing many papers in one batch: the shared reviewer machinery and the file-level runner.

``BaseReviewer`` turns papers into chat requests, runs them as ONE batch through
``engines.runner.run_requests`` (finished requests are committed as they arrive; a rerun recomputes
nothing), parses the outputs and keeps one ``ReviewOutcome`` per paper. A paper that cannot be
read or whose request fails gets an outcome with ``error`` set: the rest of the batch goes on.

``review_batch`` stores a ``review`` record per paper (keyed by the paper id) and writes
``reviews/<paper id>.json`` / ``.md`` into the run dir (``app.review`` runs it for both shells);
``review_files`` reads FILES first (``paper.batch.iter_documents``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import atomic
from ..engines.base import ChatRequest, Engine, GenerationResult, Message, SamplingParams
from ..engines.runner import run_requests
from ..errors import CycleResearcherError, InputError
from ..latex import plain_title
from ..models.session import ModelSession, SessionUser
from ..prompts.grammars.capacity import FittedBounds
from ..store import RunStore, request_key
from .context import SAFETY_MARGIN, FittedPaper, PaperInput, fit_paper, to_paper_input
from .hidden_report import with_markdown_section
from .records import Review

#: the record kind reviews are stored under in the run store
RECORD_KIND = "review"

Progress = Callable[[int], None]  # called with the number of requests just finished (cached or new)


@dataclass
class ReviewOutcome:
    """One paper's review and everything needed to reproduce or explain it."""

    paper: PaperInput
    review: Review | None
    reviewer: str
    model: str
    mode: str | None = None
    fitted: FittedPaper | None = None
    error: str | None = None
    #: Best mode: turn 1 output, the questions and the retrieval answers
    turns: list[str] = field(default_factory=list)
    retrieval: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.error is None and self.review is not None

    def to_dict(self) -> dict[str, Any]:
        return {
            "paper_id": self.paper.id,
            "title": self.paper.title,
            "source": self.paper.source,
            "reviewer": self.reviewer,
            "model": self.model,
            "mode": self.mode,
            "error": self.error,
            "paper_truncated": bool(self.fitted and self.fitted.truncated),
            "paper_tokens": self.fitted.paper_tokens if self.fitted else None,
            "sent_tokens": self.fitted.kept_tokens if self.fitted else None,
            "input_warnings": list(self.paper.warnings),
            # hidden text found in the paper and whether the reviewer read it (--keep-hidden-text)
            "hidden_text": [h.to_dict() for h in self.paper.hidden],
            "hidden_text_kept": bool(self.paper.hidden and self.paper.hidden_kept),
            "review": self.review.to_dict() if self.review is not None else None,
            "turns": list(self.turns),
            "retrieval": list(self.retrieval),
        }


def _as_list(papers: Any) -> list[Any]:
    if isinstance(papers, (list, tuple)):
        return list(papers)
    return [papers]


class BaseReviewer(SessionUser):
    """Engine handling, context fitting and the one-batch run shared by both reviewer models."""

    family = "cyclereviewer"
    name = "reviewer"

    def __init__(
        self,
        model: str | None = None,
        engine: str | Engine | None = None,
        base_url: str | None = None,
        *,
        sampling: SamplingParams | None = None,
        max_tokens: int | None = None,
        temperature: float | None = None,
        context_length: int | None = None,
        constrain: bool | None = None,
        grammar_bounds: Any = None,
        keep_hidden_text: bool = False,
        **engine_kwargs: Any,
    ):
        from ..prompts import load

        #: hidden text (``paper.hidden``) stays in what the model reads only when asked
        self.keep_hidden_text = keep_hidden_text

        #: the engine, the model kind, constrain (None = auto: on for every model but the released
        #: ones), the fitted grammars and the embedded profile
        self.session = ModelSession(
            model, self.family, engine, base_url, constrain=constrain, engine_kwargs=engine_kwargs
        )
        self.grammar_bounds = grammar_bounds

        spec = load(self.family)
        defaults = dict(spec["sampling"])
        default_budget = sampling is None and max_tokens is None
        default_sampling = sampling is None
        if sampling is None:
            sampling = SamplingParams(**defaults)
        if max_tokens is not None:
            sampling.max_tokens = max_tokens
        if temperature is not None:
            sampling.temperature = temperature
        self.sampling = sampling
        self._context_override = context_length
        self._upstream_context = int(spec["context_length"])
        #: the embedded stand-in's input cut (``review.embedded``); None: upstream's limits
        self.input_cut: int | None = None
        profile = self.session.profile
        if profile is not None:
            if default_budget:
                self.sampling.max_tokens = profile.review_max_tokens
            if default_sampling:  # the papers' anti-loop default (benchmarks/repetition.py)
                self.sampling.repeat_penalty, self.sampling.repeat_last_n = self.session.repetition()
            if context_length is None:
                self.input_cut = profile.review_input_tokens

    # -- the model session -----------------------------------------------------------------------
    @property
    def context_length(self) -> int:
        """Override > what the engine knows (GGUF n_ctx, server's max_model_len) > upstream value;
        for the embedded stand-in at most what its input cut leaves (``review.embedded``)."""
        ctx = int(self._context_override or self.engine.context_length or self._upstream_context)
        if self.input_cut is not None:
            from .embedded import embedded_context

            ctx = min(ctx, embedded_context(self.sampling.max_tokens, self.input_cut))
        return ctx

    def budget_note(self, papers: int = 1) -> str:
        """What the embedded stand-in's budget is and about how long ``papers`` reviews take (CLI, web)."""
        from .embedded import budget_note

        max_tokens = min(self.sampling.max_tokens, self.context_length // 2)  # fit_paper's rule 1
        return budget_note(max_tokens, self.context_length - max_tokens - SAFETY_MARGIN, papers=papers)

    def model_label(self) -> str:
        return self.session.label()

    def close(self) -> None:
        """Close the engine this reviewer built (a given engine is its owner's)."""
        self.session.close()

    def __enter__(self) -> BaseReviewer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- hooks for the model classes -------------------------------------------------------------
    def system_prompt(self, **options: Any) -> str:  # pragma: no cover - overridden
        raise NotImplementedError

    def parse(self, text: str, **options: Any) -> Review:  # pragma: no cover - overridden
        raise NotImplementedError

    def mode_of(self, **options: Any) -> str | None:
        return None

    def structure_name(self, turn: int = 1, **options: Any) -> str:
        """The output structure (``structure.STRUCTURES``) of this reviewer's request."""
        return "cyclereviewer"

    def grammar(self, turn: int = 1, max_tokens: int | None = None, **options: Any) -> str | None:
        """The GBNF for this request, or None when constraining is off (auto: every model but the
        released ones). With ``max_tokens`` the bounded free text is shortened until the whole
        structure fits it by the fitting's measured token rates (``prompts.grammars.capacity``)."""
        return self._grammar_fit(turn, max_tokens, **options)[0]

    def _grammar_fit(
        self, turn: int = 1, max_tokens: int | None = None, **options: Any
    ) -> tuple[str | None, FittedBounds | None]:
        from dataclasses import replace

        from ..prompts.grammars import EMBEDDED_BOUNDS, Bounds

        kind = self.model_kind
        bounds = self.grammar_bounds
        if bounds is None and kind != "released":
            bounds = EMBEDDED_BOUNDS if kind == "embedded" else Bounds()
        n = options.get("reviewer_num")
        if bounds is not None and isinstance(n, int) and n >= 1 and self.grammar_bounds is None:
            bounds = replace(bounds, reviewers=n)
        # one fit per structure and budget, not one per paper (the session keeps them)
        return self.session.grammar(self.structure_name(turn, **options), max_tokens, bounds=bounds)

    def budget_warning(self, **options: Any) -> str | None:
        """Why the review structure cannot fit the budget, or None: known from the grammar alone,
        so it is said before the model writes a token (every review would lack its end)."""
        budget = min(self.sampling.max_tokens, self.context_length // 2)  # fit_paper's rule 1
        _, fit = self._grammar_fit(1, budget, **options)
        return None if fit is None or fit.fits else self._short_budget(fit, budget, **options)

    def _short_budget(self, fit: FittedBounds, budget: int, **options: Any) -> str:
        floor = fit.floor or fit.worst_tokens
        return (
            f"the review structure does not fit {budget} new tokens even at 1 word a paragraph (about "
            f"{floor} tokens; {fit.worst_tokens} for full paragraphs), so every review is cut off before its "
            f"end, where the decision comes: raise max tokens (--max-tokens) above {floor}"
            + self.fewer_reviews_hint(**options)
        )

    def fewer_reviews_hint(self, **options: Any) -> str:
        """What else makes the structure smaller; CycleReviewer's prompt fixes its 4 reviews."""
        return " (CycleReviewer always writes 4 reviews)"

    # -- batch ----------------------------------------------------------------------------------
    def _prepare(self, papers: Any) -> list[PaperInput | InputError]:
        out: list[PaperInput | InputError] = []
        for p in _as_list(papers):
            if isinstance(p, InputError):
                out.append(p)
                continue
            try:
                item = to_paper_input(p, self.keep_hidden_text)
                if not isinstance(p, PaperInput):  # read here, with this reviewer's setting
                    item.hidden_kept = self.keep_hidden_text
                out.append(item)
            except InputError as exc:
                out.append(exc)
        return out

    def _fit(self, paper: PaperInput, system: str) -> tuple[FittedPaper, ChatRequest]:
        fitted = fit_paper(
            self.engine,
            system,
            paper.text,
            max_tokens=self.sampling.max_tokens,
            context_length=self.context_length,
        )
        sampling = SamplingParams(**{**self.sampling.to_dict(), "max_tokens": fitted.max_tokens})
        messages: list[Message] = [
            {"role": "system", "content": system},
            {"role": "user", "content": fitted.text},
        ]
        return fitted, ChatRequest(messages=messages, sampling=sampling, request_id=paper.id)

    def _outcome(
        self,
        paper: PaperInput,
        review: Review | None,
        fitted: FittedPaper | None,
        error: str | None,
        mode: str | None,
    ) -> ReviewOutcome:
        if review is not None and error is None and review.parse_failed:
            # a reply with no reviewer and no score in it (junk, one repeated character) is no review
            error = (
                f"the reply ({len(review.raw_text):,} characters) holds no reviewer and no score the "
                f"{self.name} format could read (its raw text is exported; --resume reuses this reply, a new "
                "-o folder asks the model again)"
            )
        if review is not None:
            review.mode = review.mode if mode is None else mode
            # what the fitting and the reader did to the input belongs with the review
            extra = list(paper.warnings) + (list(fitted.warnings) if fitted else [])
            review.warnings = extra + [w for w in review.warnings if w not in extra]
        return ReviewOutcome(paper, review, self.name, self.model_label(), mode, fitted, error)

    def run(
        self,
        papers: Any,
        *,
        store: RunStore | None = None,
        progress: Progress | None = None,
        **options: Any,
    ) -> list[ReviewOutcome]:
        """Review every paper in one batch. Never raises for one bad paper: see ``outcome.error``."""
        items = self._prepare(papers)
        system = self.system_prompt(**options)
        mode = self.mode_of(**options)
        outcomes: list[ReviewOutcome | None] = [None] * len(items)
        todo: list[tuple[int, PaperInput, FittedPaper, ChatRequest]] = []
        for i, item in enumerate(items):
            if isinstance(item, InputError):
                outcomes[i] = ReviewOutcome(
                    PaperInput(f"unreadable-{i}", "", source=None),
                    None,
                    self.name,
                    self.model_label(),
                    mode,
                    None,
                    str(item),
                )
                continue
            fitted, request = self._fit(item, system)
            request.sampling.grammar, fit = self._grammar_fit(1, request.sampling.max_tokens, **options)
            if fit is not None and not fit.fits:
                fitted.warnings.append(self._short_budget(fit, request.sampling.max_tokens, **options))
            request.sampling.grammar_optional = self.session.grammar_optional()
            todo.append((i, item, fitted, request))
        results = self._generate(store, self.stage(**options), [t[3] for t in todo], progress)
        finished = self._finish(todo, results, store=store, progress=progress, **options)
        for (i, *_), outcome in zip(todo, finished, strict=True):
            outcomes[i] = outcome
        done = [o for o in outcomes if o is not None]
        if store is not None:
            for o in done:
                if o.error is None or o.paper.text:
                    store.put(RECORD_KIND, o.paper.id, o.to_dict())
        return done

    def stage(self, **options: Any) -> str:
        return "review"

    def _generate(
        self, store: RunStore | None, stage: str, requests: Sequence[ChatRequest], progress: Progress | None
    ) -> list[GenerationResult]:
        if not requests:
            return []
        keys = [request_key(stage, r) for r in requests]

        def _tick(_i: int, _res: GenerationResult) -> None:
            if progress is not None:
                progress(1)

        return run_requests(self.engine, store, stage, requests, keys=keys, on_result=_tick)

    def _finish(
        self,
        todo: list[tuple[int, PaperInput, FittedPaper, ChatRequest]],
        results: list[GenerationResult],
        **options: Any,
    ) -> list[ReviewOutcome]:
        """Parse one generation per paper (Best mode overrides this with its second turn)."""
        mode = self.mode_of(**options)
        out = []
        for (_i, paper, fitted, _req), res in zip(todo, results, strict=True):
            if not res.ok:
                out.append(self._outcome(paper, None, fitted, f"generation failed: {res.error}", mode))
                continue
            review = self.parse(res.text, **options)
            self._note_finish(review, res)
            out.append(self._outcome(paper, review, fitted, None, mode))
        return out

    @staticmethod
    def _note_finish(review: Review, res: GenerationResult) -> None:
        reason = res.completions[0].finish_reason if res.completions else None
        if reason == "length":  # the parser may see the cut too; this says why
            review.truncated = True
            review.warnings.append("generation stopped at max_tokens: the output is cut off")

    def requests_per_paper(self, **options: Any) -> int:
        return 1

    # -- public API ------------------------------------------------------------------------------
    def review(self, papers: Any, *, store: RunStore | None = None, **options: Any) -> list[Review]:
        """Typed reviews, one per paper. Raises the first error only when NO paper could be reviewed."""
        outcomes = self.run(papers, store=store, **options)
        # a reply that parsed to nothing is returned as such (its warnings say so), as before
        failed = [o for o in outcomes if o.review is None]
        if outcomes and len(failed) == len(outcomes):
            raise CycleResearcherError(f"No paper could be reviewed: {failed[0].error}")
        return [o.review if o.review is not None else _error_review(o.error) for o in outcomes]


def _error_review(error: str | None) -> Review:
    return Review(warnings=[f"not reviewed: {error}"])


# -- a batch in a run folder (``app.review``), and of files --------------------------------------


@dataclass
class FileRunResult:
    outcomes: list[ReviewOutcome]
    unreadable: list[tuple[str, str]]  # (label, message)
    run_dir: Path


def export_outcome(outcome: ReviewOutcome, folder: Path) -> tuple[Path, Path]:
    """Write ``<paper id>.json`` (the outcome with the parsed review) and ``<paper id>.md``."""
    folder.mkdir(parents=True, exist_ok=True)
    jpath, mpath = folder / f"{outcome.paper.id}.json", folder / f"{outcome.paper.id}.md"
    atomic.write_text(jpath, json.dumps(outcome.to_dict(), indent=2, ensure_ascii=False) + "\n")
    md = (
        outcome.review.to_markdown(plain_title(outcome.paper.title) or outcome.paper.id)
        if outcome.review
        else f"# {outcome.paper.id}\n\nNot reviewed: {outcome.error}\n"
    )
    if outcome.paper.source:
        md = md.replace("\n", f"\n\nSource: `{outcome.paper.source}`  \n", 1)
    md = with_markdown_section(md, outcome.paper.hidden, outcome.paper.hidden_kept)
    atomic.write_text(mpath, md)
    return jpath, mpath


def review_batch(
    reviewer: BaseReviewer,
    papers: Sequence[Any],
    run_dir: str | Path,
    *,
    progress: Progress | None = None,
    **options: Any,
) -> list[ReviewOutcome]:
    """Review papers already read, in one batch through the run store of ``run_dir`` (what the
    reviewer and its settings were goes to its meta), and export each review to ``reviews/``."""
    run_dir = Path(run_dir)
    with RunStore(run_dir) as store:
        sampling = reviewer.sampling.to_dict()
        meta = {"reviewer": reviewer.name, "model": str(reviewer.model or ""), "options": options, "sampling": sampling}
        store.set_meta("review", meta)
        outcomes = reviewer.run(list(papers), store=store, progress=progress, **options) if papers else []
    for o in outcomes:
        # a failed request gets no export; the summary reports it (a reply that parsed to
        # nothing is a failure too, but its raw text is exported, to be read)
        if o.review is not None:
            export_outcome(o, run_dir / "reviews")
    return outcomes


def review_files(
    files: Iterable[str],
    reviewer: BaseReviewer,
    run_dir: str | Path,
    *,
    resume: bool = False,
    progress: Progress | None = None,
    on_total: Callable[[int], None] | None = None,
    **options: Any,
) -> FileRunResult:
    """Read FILES, review every readable paper in one batch, store and export the reviews."""
    from ..paper.batch import iter_documents
    from ..store import check_resume

    run_dir = Path(run_dir)
    check_resume(run_dir, resume)  # the same rule as every command with a run store
    read = list(iter_documents(files, reviewer.keep_hidden_text))
    unreadable = [(label, str(item)) for label, item in read if isinstance(item, InputError)]
    docs = [item for _, item in read if not isinstance(item, InputError)]
    if on_total is not None:
        on_total(len(docs) * reviewer.requests_per_paper(**options))
    return FileRunResult(review_batch(reviewer, docs, run_dir, progress=progress, **options), unreadable, run_dir)


__all__ = [
    "RECORD_KIND",
    "BaseReviewer",
    "FileRunResult",
    "ReviewOutcome",
    "export_outcome",
    "review_batch",
    "review_files",
]
