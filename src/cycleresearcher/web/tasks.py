"""The work behind each button, wired to the same Python API as the CLI.

generate -> ``app.generate`` (as ``research generate``), complete -> ``app.complete`` (as
``research complete``), review -> ``CycleReviewer`` /
``DeepReviewer`` ``.run`` (as ``review run``), detect -> ``AIDetector.detect_text`` (as
``detect``). Records land in the run store under the same kinds (paper, review, detection) and
the same exports are written beside it (papers/<id>/paper.json, .md, latex/, reviews/<id>.json).

Engines are built by a factory (the tests inject their scripted engine) and the last one is
kept loaded between jobs, so a second job on the same model does not reload the weights.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..app.complete import CompleteRequest, complete
from ..app.generate import GenerateRequest, generate
from ..app.session import ModelChoice as EngineChoice
from ..app.session import Sessions as Services
from ..errors import EngineError, InputError
from ..store import RunStore
from .jobs import JobContext


def paper_folder(run_dir: Path, paper_id: str) -> Path:
    return run_dir / "papers" / paper_id


# -- tasks ----------------------------------------------------------------------------------------


def generate_task(services: Services, request: GenerateRequest) -> Callable[[JobContext], str]:
    """``app.generate`` into the job's run folder; the page of the one paper, or of the run."""

    def run(ctx: JobContext) -> str:
        result = generate(replace(request, run_dir=ctx.run_dir, resume=True), services, ctx)
        if not result.written:
            why = result.failures[0] if result.failures else "no result"
            raise EngineError(f"No paper came out: {why}. Check the engine settings and try again.")
        first = result.written[0]["id"]
        return f"/runs/{ctx.job.run}/papers/{first}" if len(result.written) == 1 else f"/runs/{ctx.job.run}"

    return run


def complete_task(services: Services, request: CompleteRequest) -> Callable[[JobContext], str]:
    """``app.complete`` of one paper of the job's run; a failed results section fails the job."""

    def run(ctx: JobContext) -> str:
        result = complete(replace(request, run=ctx.run_dir), services, ctx)
        if result.failures:
            raise EngineError(result.failures[0])
        return f"/runs/{ctx.job.run}/papers/{request.paper_id}"

    return run


def _paper_input(store: RunStore, kind: str, key: str) -> Any:
    from ..paper.hidden import HiddenText
    from ..review.context import PaperInput, to_paper_input

    data = store.get(kind, key)
    if data is None:
        raise InputError(f"No {kind} {key} in this run.")
    if kind == "document":
        return PaperInput(
            key,
            data["text"],
            data.get("title") or "",
            data.get("filename"),
            data.get("bibtex"),
            list(data.get("warnings") or []),
            [HiddenText.from_dict(h) for h in data.get("hidden") or [] if isinstance(h, dict)],
        )
    return to_paper_input({**data, "id": key})


def review_task(
    services: Services, choice: EngineChoice, kind: str, key: str, reviewer: str, mode: str
) -> Callable[[JobContext], str]:
    def run(ctx: JobContext) -> str:
        from ..review.runner import RECORD_KIND, export_outcome

        family = "deepreviewer" if reviewer == "deepreviewer" else "cyclereviewer"
        ctx.progress(0, None, f"loading the reviewer ({choice.describe()['model']})")
        engine = services.engine(choice, family)
        options: dict[str, Any] = {}
        if family == "cyclereviewer":
            from ..review.cyclereviewer import CycleReviewer

            rev: Any = CycleReviewer(
                model=choice.model, engine=engine, max_tokens=choice.max_tokens, constrain=choice.constrain
            )
        else:
            from ..review.deepreviewer import DeepReviewer

            rev = DeepReviewer(
                model=choice.model,
                engine=engine,
                max_tokens=choice.max_tokens,
                retriever="local" if mode == "best" else "none",
                constrain=choice.constrain,
            )
            options = {"mode": mode, "reviewer_num": 4}
        note = f" ({rev.budget_note()})" if rev.is_embedded else ""
        ctx.progress(0, rev.requests_per_paper(**options), f"reviewing with {family}{note}")
        with RunStore(ctx.run_dir) as store:
            paper = _paper_input(store, kind, key)
            [outcome] = rev.run([paper], store=store, progress=lambda k: ctx.advance(k), **options)
            if outcome.error and not outcome.review:
                raise InputError(f"The review failed: {outcome.error}")
            export_outcome(outcome, ctx.run_dir / "reviews")
            stored = store.get(RECORD_KIND, outcome.paper.id)
        rev.close()
        if stored is None:
            raise InputError("The review produced no record; see the server log.")
        return f"/runs/{ctx.job.run}/reviews/{outcome.paper.id}"

    return run


def detect_task(services: Services, kind: str, key: str) -> Callable[[JobContext], str]:
    def run(ctx: JobContext) -> str:
        from ..detect import PAPER_KINDS
        from ..paper.readers import paper_text

        ctx.progress(0, 1, "loading the scoring model")
        detector = services.detector()
        with RunStore(ctx.run_dir) as store:
            data = store.get(kind, key)
            if data is None:
                raise InputError(f"No {kind} {key} in this run.")
            text = data["text"] if kind == "document" else paper_text(data)
            ctx.progress(message="scoring the text (Fast-DetectGPT)")
            # a generated paper, or an uploaded .pdf / .tex / Paper .json, is a paper whatever its length
            is_paper = kind == "paper" or data.get("kind") in PAPER_KINDS
            det = detector.detect_text(text, source=key, paper=is_paper)
            store.put("detection", key, {"paper_id": key, **det.to_dict()})
        ctx.advance()
        page = "papers" if kind == "paper" else "reviews"
        return f"/runs/{ctx.job.run}/{page}/{key}#detection"

    return run
