"""Writing papers: the start page's generate form and a two-stage paper's complete form."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import Response

from ...errors import CycleResearcherError, InputError
from ...paper.results import validate_results
from ..site import MAX_N, SiteDep, read_upload, submit_redirect
from ..tasks import complete_task, generate_task
from ..uploads import MAX_BIB_BYTES, MAX_RESULTS_BYTES, references_bytes, results_json, safe_filename

router = APIRouter()


@router.post("/generate")
async def generate(
    request: Request,
    site: SiteDep,
    bib: Annotated[UploadFile | None, File()] = None,
    references_text: Annotated[str, Form()] = "",
    topic: Annotated[str, Form()] = "",
    n: Annotated[int, Form()] = 1,
    mode: Annotated[str, Form()] = "simulate",
    model: Annotated[str, Form()] = "",
    engine: Annotated[str, Form()] = "auto",
    max_tokens: Annotated[int | None, Form()] = None,
    constrain: Annotated[str, Form()] = "auto",
    pdf: Annotated[str, Form()] = "",
    enrich: Annotated[str, Form()] = "",
) -> Response:
    from ...references import load_references
    from ...research import ResearchSettings

    form = {
        "references_text": references_text,
        "topic": topic,
        "n": n,
        "mode": mode,
        "model": model,
        "engine": engine,
        "max_tokens": max_tokens,
        "constrain": constrain,
        "enrich": bool(enrich),
    }
    try:
        data = await read_upload(bib, MAX_BIB_BYTES)
        source = safe_filename(bib.filename if bib else None, "references.bib")
        if not data.strip():
            data, source = references_text.encode("utf-8"), "pasted.bib"
        if not data.strip():
            raise InputError("No references: upload a .bib file or paste BibTeX entries.")
        references_bytes(data)
        refs = load_references(data, name=source)  # syntax errors now, inline, with file and line
        if not refs.references:
            raise InputError(
                f"{source}: no references found. Upload BibTeX entries (@article{{...}}) or a paper-record JSON."
            )
        if not 1 <= n <= MAX_N:
            raise InputError(f"Papers to generate must be between 1 and {MAX_N}, got {n}.")
        settings = ResearchSettings(n=n, topic=topic.strip() or None, mode=mode, max_tokens=None)
        chosen = site.choice(model, engine, max_tokens, constrain)
        settings.max_tokens = chosen.max_tokens
    except CycleResearcherError as exc:
        return site.index(request, str(exc), 400, form)
    run = site.new_run("web")
    (site.root / run / "uploads").mkdir(exist_ok=True)
    (site.root / run / "uploads" / source).write_bytes(data)
    params = {
        **chosen.describe(),
        "n": n,
        "mode": mode,
        "topic": settings.topic,
        "references": source,
        "pdf": bool(pdf),
        "enrich": bool(enrich),
    }
    job = site.runner.submit(
        "generate",
        run,
        generate_task(site.services, chosen, data, source, settings, bool(pdf), enrich=bool(enrich)),
        label=f"generate from {source}",
        params=params,
    )
    return submit_redirect(job.id)


@router.post("/runs/{run}/papers/{pid}/complete")
async def complete_action(
    request: Request,
    run: str,
    pid: str,
    site: SiteDep,
    results: Annotated[UploadFile | None, File()] = None,
    model: Annotated[str, Form()] = "",
    engine: Annotated[str, Form()] = "auto",
    max_tokens: Annotated[int | None, Form()] = None,
    constrain: Annotated[str, Form()] = "auto",
    pdf: Annotated[str, Form()] = "",
) -> Response:
    site.record(run, "paper", pid)  # a complete paper is redone; its earlier version is kept
    data = await read_upload(results, MAX_RESULTS_BYTES)
    value = results_json(data)
    validate_results(value, "results file")  # the documented shape, before any model runs
    chosen = site.choice(model, engine, max_tokens, constrain)
    task = complete_task(site.services, chosen, pid, value, bool(pdf))
    return submit_redirect(
        site.runner.submit(
            "complete", run, task, label=f"complete {pid}", params={**chosen.describe(), "target": pid}
        ).id
    )
