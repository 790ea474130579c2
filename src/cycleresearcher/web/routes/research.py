"""Writing papers: the start page's generate form and a two-stage paper's complete form."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import Response

from ...app.complete import CompleteRequest
from ...app.generate import Upload
from ...app.uploads import MAX_BIB_BYTES, MAX_RESULTS_BYTES, RESULTS_SHAPE, references_bytes, results_json
from ...errors import CycleResearcherError, InputError
from ...paper.results import validate_results
from ..documents import read_references
from ..site import MAX_N, PASTED, SiteDep, read_upload, submit_redirect
from ..tasks import complete_task, start_generate
from ..uploads import safe_filename
from .papers import show_paper

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
    drop_to_fit: Annotated[str, Form()] = "",
) -> Response:
    form = {
        "references_text": references_text, "topic": topic, "n": n, "mode": mode, "model": model,
        "engine": engine, "max_tokens": max_tokens, "constrain": constrain, "pdf": bool(pdf),
        "enrich": bool(enrich), "drop_to_fit": bool(drop_to_fit),
    }  # fmt: skip
    try:
        upload = await _references(bib, references_text)
        if not 1 <= n <= MAX_N:
            raise InputError(f"Papers to generate must be between 1 and {MAX_N}, got {n}.")
        job = start_generate(site, form, upload)
    except CycleResearcherError as exc:
        return site.index(request, str(exc), 400, form)
    return submit_redirect(job.id)


async def _references(bib: UploadFile | None, pasted: str) -> Upload:
    """The uploaded (else pasted) references, read strictly in a worker within the read budget: a
    broken entry is shown inline, with file and line, before the run starts."""
    data = await read_upload(bib, MAX_BIB_BYTES)
    source = safe_filename(bib.filename if bib else None, "references.bib")
    if not data.strip():
        data, source = pasted.encode("utf-8"), PASTED
    if not data.strip():
        raise InputError("No references: upload a .bib file or paste BibTeX entries.")
    references_bytes(data)
    refs = await read_references(data, source)
    if not refs.references:
        raise InputError(
            f"{source}: no references found. Upload BibTeX entries (@article{{...}}) or a paper-record JSON."
        )
    return Upload(data, source)


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
    redo: Annotated[str, Form()] = "",
) -> Response:
    site.record(run, "paper", pid)
    try:
        if results is None or not results.filename:
            raise InputError("No results file chosen: " + RESULTS_SHAPE)
        value = results_json(await read_upload(results, MAX_RESULTS_BYTES))
        validate_results(value, "results file")  # the documented shape, before any model runs
        chosen = site.choice(model, engine, max_tokens, constrain)
    except CycleResearcherError as exc:  # shown in the results card, the typed fields kept
        typed = {"model": model, "engine": engine, "max_tokens": max_tokens, "constrain": constrain, "pdf": bool(pdf)}
        return show_paper(request, site, run, pid, str(exc), typed)
    # the Redo form of a complete paper asks for the redo (its earlier version is kept)
    todo = CompleteRequest(site.run_path(run), value, pid, chosen, pdf=bool(pdf), redo=bool(redo))
    return submit_redirect(
        site.runner.submit(
            "complete", run, complete_task(site.services, todo), label=f"complete {pid}",
            params={**chosen.describe(), "target": pid, "redo": bool(redo)},
        ).id
    )  # fmt: skip
