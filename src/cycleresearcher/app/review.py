"""The review use case: papers from any source, reviewed by CycleReviewer or DeepReviewer in one
batch, stored in a run folder and exported (``reviews/<paper id>.json`` / ``.md``).

``cycleresearcher review`` and the page's review buttons both call ``review``: the reviewer, its
model, its budgets and the records written are the same from either by construction. The engine
comes from ``sessions.engine(choice, family)`` with the reviewer's family, so a model left empty
on a server is the server's reviewer model (``engines.create_engine``), never the first it lists.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import InputError
from .report import Report
from .runfolder import check_resume, new_run_dir, run_lock
from .session import ModelChoice, Sessions
from .sources import PaperSource, read_all

if TYPE_CHECKING:
    from ..engines.base import Engine
    from ..review.runner import BaseReviewer, ReviewOutcome

REVIEWERS = ("cyclereviewer", "deepreviewer")
MODES = ("fast", "standard", "best")


@dataclass
class ReviewRequest:
    sources: list[PaperSource]
    reviewer: str = "cyclereviewer"
    #: DeepReviewer's thinking mode (best = search questions + retrieval + a second turn)
    mode: str = "standard"
    #: DeepReviewer's simulated reviewers ({n} in its prompt); CycleReviewer's prompt fixes 4
    reviewer_num: int = 4
    choice: ModelChoice = field(default_factory=ModelChoice)
    #: the run folder (None: a new ``runs/review-<time>``); an existing run needs ``resume``
    run_dir: str | Path | None = None
    resume: bool = False
    #: let the reviewer read hidden text too (every review lists what was found either way)
    keep_hidden_text: bool = False
    #: the model's context window, for servers that do not report it (None: what the engine knows)
    context_length: int | None = None
    #: Best mode's retrieval: "local", "none" or an OpenScholar-style URL
    retriever: str = "local"
    prompt_form: str = "flush"
    best_variant: str = "library"

    def __post_init__(self) -> None:
        """A wrong choice fails here, before any folder is made or model loaded; so does one that
        this reviewer or mode does not use (``--best-variant y`` is a typo, not a no-op)."""
        from ..review.cyclereviewer import system_prompt
        from ..review.deepreviewer import system_prompt as deep_prompt
        from ..review.retrieval import make_retriever

        check_reviewer(self.reviewer, self.mode)
        system_prompt(self.prompt_form)  # type: ignore[arg-type]
        deep_prompt(self.mode, self.reviewer_num, self.best_variant)  # type: ignore[arg-type]
        make_retriever(self.retriever)

    @property
    def options(self) -> dict[str, Any]:
        """What the reviewer's ``run`` takes besides the papers."""
        if self.reviewer == "deepreviewer":
            return {"mode": self.mode, "reviewer_num": self.reviewer_num}
        return {}


@dataclass
class ReviewResult:
    outcomes: list[ReviewOutcome]
    #: (label, message) of each input that could not be read (the rest went on)
    unreadable: list[tuple[str, str]]
    run_dir: Path
    #: the exported files (``reviews/<paper id>.json`` and ``.md``)
    exported: list[Path] = field(default_factory=list)

    @property
    def reviewed(self) -> list[ReviewOutcome]:
        return [o for o in self.outcomes if o.ok]

    @property
    def failed(self) -> list[ReviewOutcome]:
        return [o for o in self.outcomes if not o.ok]

    @property
    def ok(self) -> bool:
        return bool(self.reviewed) and not self.failed and not self.unreadable


def check_reviewer(reviewer: str, mode: str) -> None:
    if reviewer not in REVIEWERS:
        raise InputError(f"Unknown reviewer '{reviewer}'. Choose cyclereviewer or deepreviewer.")
    if mode not in MODES:
        raise InputError(f"Unknown DeepReviewer mode '{mode}'. Choose fast, standard or best.")


def reviewer_model(model: str | None, base_url: str | None, reviewer: str) -> str:
    """The model a review goes to: the one asked for; on a server, its own reviewer model (empty:
    ``create_engine`` picks it by family); the released size on a GPU; else the embedded stand-in."""
    if model:
        return model
    if base_url:
        return ""
    from ..hfmodels import cuda_available

    if cuda_available():
        return "8B" if reviewer == "cyclereviewer" else "14B"
    return "embedded"


def build_reviewer(request: ReviewRequest, engine: Engine) -> BaseReviewer:
    """The reviewer of ``request`` on ``engine`` (a session's: the reviewer does not close it)."""
    choice = request.choice
    common: dict[str, Any] = {
        "model": choice.model,
        "engine": engine,
        "base_url": choice.base_url,
        "max_tokens": choice.max_tokens,
        "context_length": request.context_length,
        "constrain": choice.constrain,
        "keep_hidden_text": request.keep_hidden_text,
    }
    if request.reviewer == "cyclereviewer":
        from ..review.cyclereviewer import CycleReviewer

        return CycleReviewer(prompt_form=request.prompt_form, **common)  # type: ignore[arg-type]
    from ..review.deepreviewer import DeepReviewer

    return DeepReviewer(
        retriever=request.retriever if request.mode == "best" else "none",
        best_variant=request.best_variant,  # type: ignore[arg-type]
        **common,
    )


def review(request: ReviewRequest, sessions: Sessions, report: Report) -> ReviewResult:
    """Read every source, review the readable papers in one batch, store and export the reviews.

    A folder this call made is removed again when nothing could be reviewed (no readable paper, a
    model that does not load); an existing run is used only with ``resume`` (the page reviews a
    paper inside the run that holds it: it resumes that run)."""
    choice = replace(
        request.choice, model=reviewer_model(request.choice.model, request.choice.base_url, request.reviewer)
    )
    request = replace(request, choice=choice)
    try:
        with new_run_dir(request.run_dir, "review") as folder:
            check_resume(folder, request.resume)
            with run_lock(folder, "review"):
                papers, unreadable = read_all(request.sources, request.keep_hidden_text)
                if not papers:
                    raise _NothingRead(ReviewResult([], unreadable, folder))
                outcomes = _run(request, papers, folder, sessions, report)
    except _NothingRead as nothing:  # raised through new_run_dir, which removes what it made
        return nothing.result
    exported = [folder / "reviews" / f"{o.paper.id}.{ext}" for o in outcomes if o.review is not None for ext in ("json", "md")]
    return ReviewResult(outcomes, unreadable, folder, exported)


def _run(
    request: ReviewRequest, papers: list[Any], folder: Path, sessions: Sessions, report: Report
) -> list[ReviewOutcome]:
    from ..progress import reporting
    from ..review.runner import review_batch

    choice = request.choice
    report.step(f"loading the reviewer ({choice.name()})")
    rev = build_reviewer(request, sessions.engine(choice, request.reviewer))
    if rev.is_embedded:
        report.warn(f"{rev.budget_note()}; a larger max tokens / context length changes it.")
    options = request.options
    report.step(f"reviewing with {request.reviewer}", len(papers) * rev.requests_per_paper(**options))
    with reporting(report.tokens(f"Reviewing ({request.reviewer})")):
        return review_batch(rev, papers, folder, progress=report.advance, **options)


class _NothingRead(Exception):
    """No source held a readable paper: the call stops before any work (exit code 1 to the rules)."""

    exit_code = 1

    def __init__(self, result: ReviewResult):
        super().__init__("no readable paper")
        self.result = result


__all__ = ["MODES", "REVIEWERS", "ReviewRequest", "ReviewResult", "build_reviewer", "check_reviewer", "review", "reviewer_model"]
