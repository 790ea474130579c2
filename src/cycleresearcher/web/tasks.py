"""The work behind each button, wired to the same Python API as the CLI.

generate -> ``app.generate`` (as ``research generate``), complete -> ``app.complete`` (as
``research complete``), review -> ``app.review.review`` (as ``review run``), detect ->
``app.detect.detect`` (as ``detect``). Records land in the run store under the same kinds
(paper, review, detection) and
the same exports are written beside it (papers/<id>/paper.json, .md, latex/, reviews/<id>.json).

Engines are built by a factory (the tests inject their scripted engine) and the last one is
kept loaded between jobs, so a second job on the same model does not reload the weights.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from ..app.complete import CompleteRequest, complete
from ..app.generate import GenerateRequest, Upload, generate
from ..app.jobs import Job, JobContext
from ..app.session import Sessions as Services
from ..errors import EngineError, InputError, PromptTooLongError

if TYPE_CHECKING:
    from ..app.review import ReviewRequest
    from .site import Site

#: the states in which a job can be started again
STOPPED = ("failed", "interrupted")


# -- starting a generate job (the form, and "start it again") ------------------------------------


def start_generate(site: Site, form: dict[str, Any], upload: Upload, run: str | None = None) -> Job:
    """A generate job from the form's fields (``form``, as the generate route reads them) on
    ``upload``: in a new run, or in ``run`` (start a stopped job again: its finished requests are
    reused). The job's params keep the fields, so its page can offer both again."""
    from ..research import ResearchSettings

    # the token limit and constrain travel on the choice: the run stores the CLI's settings
    chosen = site.choice(form["model"], form["engine"], form["max_tokens"], form["constrain"])
    settings = ResearchSettings(
        n=form["n"], topic=form["topic"].strip() or None, mode=form["mode"], drop_to_fit=form["drop_to_fit"]
    )
    if run is None:
        run = site.new_run("web")
        (site.root / run / "uploads").mkdir(exist_ok=True)
        (site.root / run / "uploads" / upload.name).write_bytes(upload.data)
    kept = {k: v for k, v in form.items() if k != "references_text"}  # the text is in uploads/
    params = {
        **chosen.describe(), "n": settings.n, "mode": settings.mode, "topic": settings.topic,
        "references": upload.name, "pdf": form["pdf"], "enrich": form["enrich"],
        "drop_to_fit": settings.drop_to_fit, "form": kept,
    }  # fmt: skip
    # checked strictly before, so the run reads the references as the page showed them
    todo = GenerateRequest(
        [upload], settings, chosen, pdf=form["pdf"], strict=True, enrich=form["enrich"]
    )
    task = generate_task(site.services, todo)
    return site.runner.submit("generate", run, task, label=f"generate from {upload.name}", params=params)


def restart_generate(site: Site, job: Job) -> Job:
    """``job`` (a stopped generate job of the page) started again in its own run, with the same
    references and fields."""
    form = job.params.get("form")
    source = site.root / job.run / "uploads" / str(job.params.get("references", ""))
    if job.kind != "generate" or job.state not in STOPPED or not isinstance(form, dict) or not source.is_file():
        raise InputError("This job cannot be started again from here: start a new one from the start page.")
    return start_generate(site, form, Upload(source.read_bytes(), source.name), run=job.run)


# -- tasks ----------------------------------------------------------------------------------------


#: the ways out of a prompt too long for the context, named as the generate form names them
FORM_WORDS = {
    "drop_to_fit": 'Tick "drop the least relevant references to fit"',
    "max_tokens": "lower Max new tokens",
}


def generate_task(services: Services, request: GenerateRequest) -> Callable[[JobContext], str]:
    """``app.generate`` into the job's run folder; the page of the one paper, or of the run."""

    def run(ctx: JobContext) -> str:
        try:
            result = generate(replace(request, run_dir=ctx.run_dir, resume=True), services, ctx)
        except PromptTooLongError as exc:  # the page has no --drop-to-fit: name its own fields
            raise InputError(exc.worded(FORM_WORDS)) from exc
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
