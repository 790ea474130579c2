"""The work behind each button, wired to the same Python API as the CLI.

generate -> ``CycleResearcher.generate`` (as ``research generate``), complete ->
``CycleResearcher.complete`` (as ``research complete``), review -> ``CycleReviewer`` /
``DeepReviewer`` ``.run`` (as ``review run``), detect -> ``app.detect.detect`` (as
``detect``). Records land in the run store under the same kinds (paper, review, detection) and
the same exports are written beside it (papers/<id>/paper.json, .md, latex/, reviews/<id>.json).

Engines are built by a factory (the tests inject their scripted engine) and the last one is
kept loaded between jobs, so a second job on the same model does not reload the weights.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..app.session import ModelChoice as EngineChoice
from ..app.session import Sessions as Services
from ..errors import EngineError, InputError
from ..store import RunStore
from .jobs import JobContext

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
    """``app.detect`` on a stored paper or upload; its record goes into the same run."""

    def run(ctx: JobContext) -> str:
        from ..app.detect import DetectRequest, Stored, detect
        from ..app.kinds import RecordKind

        request = DetectRequest(stored=[Stored(ctx.run_dir, RecordKind(kind), key)], output=ctx.run_dir)
        [det] = detect(request, services, ctx).detections
        if det.error:  # kept in the record, as the CLI does; the job says it failed
            raise InputError(det.error)
        page = "papers" if kind == "paper" else "reviews"
        return f"/runs/{ctx.job.run}/{page}/{key}#detection"

    return run
