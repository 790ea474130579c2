"""The work behind each button, wired to the same Python API as the CLI.

generate -> ``CycleResearcher.generate`` (as ``research generate``), complete ->
``CycleResearcher.complete`` (as ``research complete``), review -> ``app.review.review`` (as
``review run``), detect -> ``AIDetector.detect_text`` (as ``detect``). Records land in the run store under the same kinds (paper, review, detection) and
the same exports are written beside it (papers/<id>/paper.json, .md, latex/, reviews/<id>.json).

Engines are built by a factory (the tests inject their scripted engine) and the last one is
kept loaded between jobs, so a second job on the same model does not reload the weights.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..app.session import ModelChoice as EngineChoice
from ..app.session import Sessions as Services
from ..errors import EngineError, InputError
from ..store import RunStore
from .jobs import JobContext

if TYPE_CHECKING:
    from ..app.review import ReviewRequest

# -- exports (the same files `research generate` writes) -------------------------------------------


def paper_folder(run_dir: Path, paper_id: str) -> Path:
    return run_dir / "papers" / paper_id


def export_paper(paper: Any, run_dir: Path, pdf: bool) -> None:
    """paper.json, paper.md and (once the paper is complete) the LaTeX project, as the CLI does."""
    from ..paper.export import export_paper as _export

    _export(paper, run_dir, pdf=pdf)


# -- tasks ----------------------------------------------------------------------------------------


def generate_task(
    services: Services,
    choice: EngineChoice,
    refs: bytes,
    source: str,
    settings: Any,
    pdf: bool,
    enrich: bool = False,
) -> Callable[[JobContext], str]:
    def run(ctx: JobContext) -> str:
        from ..references import load_references
        from ..research import CycleResearcher

        ctx.progress(0, settings.n, f"loading the model ({choice.describe()['model']})")
        researcher = CycleResearcher(
            model=choice.model,
            engine=services.engine(choice, "researcher"),
            run_dir=ctx.run_dir,
            constrain=choice.constrain,
        )
        store = researcher.store
        assert store is not None
        try:
            store.set_meta("command", "web generate")
            store.set_meta("settings", settings.__dict__)
            loaded = load_references(refs, name=source)
            if enrich:  # the only path of the page that sends anything to the scholarly services
                from ..references.enrich import enrich_to_run

                ctx.progress(message="enriching the references (Semantic Scholar, OpenAlex, arXiv, Crossref)")
                loaded = enrich_to_run(
                    loaded, ctx.run_dir, lambda d, t, m: ctx.progress(message=f"enrich: {m}")
                )
            prepared = researcher.prepare([loaded], settings)
            ctx.progress(message=f"generating {settings.n} paper(s)")
            first: list[str] = []
            failures: list[str] = []

            def on_paper(paper: Any) -> None:
                error = (paper.meta or {}).get("error")
                if error:  # as in the CLI: a failed request gets no export
                    failures.append(error)
                else:
                    ctx.progress(message=f"exporting {paper.id}")
                    export_paper(paper, ctx.run_dir, pdf=pdf and settings.mode != "two-stage")
                    first.append(paper.id)
                ctx.advance()

            researcher.generate(prepared, settings, on_paper=on_paper)
            if not first:
                raise EngineError(
                    f"No paper came out: {failures[0] if failures else 'no result'}. "
                    "Check the engine settings and try again."
                )
        finally:
            store.close()  # the engine stays loaded for the next job
        return f"/runs/{ctx.job.run}/papers/{first[0]}" if len(first) == 1 else f"/runs/{ctx.job.run}"

    return run


def complete_task(
    services: Services, choice: EngineChoice, paper_id: str, results: Any, pdf: bool
) -> Callable[[JobContext], str]:
    def run(ctx: JobContext) -> str:
        from ..paper import Paper
        from ..research import CycleResearcher, ResearchSettings

        ctx.progress(0, 1, "writing the results section from your results")
        researcher = CycleResearcher(
            model=choice.model,
            engine=services.engine(choice, "researcher"),
            run_dir=ctx.run_dir,
            constrain=choice.constrain,
        )
        store = researcher.store
        assert store is not None
        try:
            data = store.get("paper", paper_id)
            if data is None:
                raise InputError(f"No paper {paper_id} in run {ctx.job.run}.")
            done = researcher.complete(
                Paper.from_dict(data), results, ResearchSettings(max_tokens=choice.max_tokens)
            )
            export_paper(done, ctx.run_dir, pdf=pdf)
        finally:
            store.close()
        ctx.advance()
        return f"/runs/{ctx.job.run}/papers/{paper_id}"

    return run


def review_task(services: Services, request: ReviewRequest) -> Callable[[JobContext], str]:
    """``app.review.review`` of one paper or document of the job's run (``request`` names it)."""

    def run(ctx: JobContext) -> str:
        from ..app.review import review

        result = review(request, services, ctx)
        if result.unreadable:
            raise InputError(result.unreadable[0][1])
        [outcome] = result.outcomes
        if outcome.error and not outcome.review:
            raise InputError(f"The review failed: {outcome.error}")
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
