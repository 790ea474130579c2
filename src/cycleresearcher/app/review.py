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
from .runfolder import check_resume, new_run_dir, run_lock, setting_changes
from .session import ModelChoice, Sessions
from .sources import PaperSource, nothing_readable, read_all

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
    #: review papers this run already reviewed with other settings again, replacing their reviews
    #: (the page's "Review again"); without it such a resume is refused (``check_same_settings``)
    again: bool = False

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
    def settings(self) -> dict[str, Any]:
        """What this review's requests depend on, by ``SETTING_OPTIONS`` key; a setting this
        reviewer or mode does not use is left out (so a change of reviewer names the reviewer,
        not every option that comes with it)."""
        choice, deep = self.choice, self.reviewer == "deepreviewer"
        values: dict[str, Any] = {"reviewer": self.reviewer, "model": choice.model, "engine": choice.engine}
        if deep:
            values.update(mode=self.mode, reviewers=self.reviewer_num)
            if self.mode == "best":
                values.update(best_variant=self.best_variant, retriever=self.retriever)
        else:
            values["prompt_form"] = self.prompt_form
        values.update(
            max_tokens=choice.max_tokens, context_length=self.context_length,
            keep_hidden_text=self.keep_hidden_text, constrain=choice.constrain,
        )  # fmt: skip
        return values

    def unused_options(self) -> list[str]:
        """Notes on options given that this reviewer or mode does not use (they change nothing)."""
        deep, best = self.reviewer == "deepreviewer", self.reviewer == "deepreviewer" and self.mode == "best"
        notes = []
        if not deep and self.reviewer_num != 4:
            notes.append("--reviewers applies to DeepReviewer; CycleReviewer's prompt asks for 4 reviews.")
        if not best and self.retriever != "local":
            notes.append("--retriever applies to DeepReviewer's best mode (--reviewer deepreviewer --mode best); ignored here.")
        if not best and self.best_variant != "library":
            notes.append("--best-variant applies to DeepReviewer's best mode; ignored here.")
        if deep and self.prompt_form != "flush":
            notes.append("--prompt-form applies to CycleReviewer; ignored for DeepReviewer.")
        return notes

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

    When no source could be read at all it is bad input: InputError with one line per source, and
    the folder this call made is removed again (as when the model does not load); an existing run
    is used only with ``resume`` (the page reviews a paper inside the run that holds it: it
    resumes that run), and only with the settings its papers were reviewed with (``again``)."""
    choice = replace(
        request.choice, model=reviewer_model(request.choice.model, request.choice.base_url, request.reviewer)
    )
    request = replace(request, choice=choice)
    with new_run_dir(request.run_dir, "review") as folder:
        check_resume(folder, request.resume)
        with run_lock(folder, "review"):
            papers, unreadable = read_all(request.sources, request.keep_hidden_text)
            if not papers:
                raise InputError(nothing_readable(unreadable))
            if not request.again:  # before any model loads
                check_same_settings(folder, papers, request.settings)
            outcomes = _run(request, papers, folder, sessions, report)
    exported = [folder / "reviews" / f"{o.paper.id}.{ext}" for o in outcomes if o.review is not None for ext in ("json", "md")]
    return ReviewResult(outcomes, unreadable, folder, exported)


#: a review setting (``ReviewRequest.settings``) -> the option that sets it. Not the API key, nor the
#: server's address: the same model behind another port writes the same review.
SETTING_OPTIONS = {
    "reviewer": "--reviewer",
    "model": "--model",
    "engine": "--engine",
    "mode": "--mode",
    "reviewers": "--reviewers",
    "max_tokens": "--max-tokens",
    "context_length": "--context-length",
    "prompt_form": "--prompt-form",
    "best_variant": "--best-variant",
    "retriever": "--retriever",
    "keep_hidden_text": "--keep-hidden-text",
    "constrain": "--constrain",
}
#: run store meta: paper id -> the settings its review was asked with (written before the model runs)
SETTINGS_META = "review_settings"


def check_same_settings(folder: Path, papers: list[Any], now: dict[str, Any]) -> None:
    """A resume continues the reviews the run holds: a paper reviewed there with other settings
    would be asked again (its requests are keyed by what is sent) and its stored review replaced,
    so that is refused, naming each setting that differs. Not checked: a paper new to the run
    (new work either way: the page reviews one paper after another in one run), and one whose
    review failed (nothing to lose, and a setting may be the fix: a model name, a budget)."""
    from ..review.runner import RECORD_KIND
    from ..store import RunStore, is_run_dir

    if not is_run_dir(folder):
        return
    with RunStore(folder, readonly=True) as store:
        earlier = store.get_meta(SETTINGS_META) or {}
        failed = {p.id for p in papers if (store.get(RECORD_KIND, p.id) or {}).get("error")}
    changed: dict[str, str] = {}
    papers_changed = 0
    for paper in papers:
        before = earlier.get(paper.id) if isinstance(earlier, dict) else None
        if not isinstance(before, dict) or paper.id in failed:
            continue
        differ = setting_changes(before, now, SETTING_OPTIONS, _shown)
        papers_changed += bool(differ)
        for key, line in differ.items():  # each setting once, as the first paper differs
            changed.setdefault(key, line)
    if changed:
        raise InputError(
            f"{folder} reviewed {papers_changed} of these paper(s) with other settings ({'; '.join(changed.values())}): "
            "resuming would review them again and replace their stored reviews, not continue the run. "
            "Rerun with the run's settings, or without --resume into a new -o folder."
        )


def _shown(key: str, value: Any) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    if value is None:
        return "auto" if key in ("engine", "constrain") else "not set (the default)"
    if value == "" and key == "model":
        return "the server's reviewer model"
    return str(value)


def _record_settings(folder: Path, papers: list[Any], now: dict[str, Any]) -> None:
    """Each paper's settings, kept before its requests run: an interrupted run is checked too."""
    from ..store import RunStore

    with RunStore(folder) as store:
        earlier = store.get_meta(SETTINGS_META) or {}
        earlier = earlier if isinstance(earlier, dict) else {}
        store.set_meta(SETTINGS_META, {**earlier, **{p.id: now for p in papers}})


def _run(
    request: ReviewRequest, papers: list[Any], folder: Path, sessions: Sessions, report: Report
) -> list[ReviewOutcome]:
    from ..progress import reporting
    from ..review.runner import review_batch

    choice = request.choice
    report.step(f"loading the reviewer ({choice.name()})")
    rev = build_reviewer(request, sessions.engine(choice, request.reviewer))
    if rev.is_embedded:
        report.warn(f"{rev.budget_note(len(papers))}; a larger max tokens / context length changes it.")
    options = request.options
    short = rev.budget_warning(**options)  # known before the model writes a token
    if short:
        report.warn(short)
    _record_settings(folder, papers, request.settings)
    report.step(f"reviewing with {request.reviewer}", len(papers) * rev.requests_per_paper(**options))
    with reporting(report.tokens(f"Reviewing ({request.reviewer})")):
        return review_batch(rev, papers, folder, progress=report.advance, **options)


__all__ = [
    "MODES",
    "REVIEWERS",
    "SETTING_OPTIONS",
    "ReviewRequest",
    "ReviewResult",
    "build_reviewer",
    "check_reviewer",
    "check_same_settings",
    "review",
    "reviewer_model",
]
