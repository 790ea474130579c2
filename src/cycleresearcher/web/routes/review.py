"""Reviewing: the start page's upload-and-review form, reviewing a paper or document of a run,
the review page and its JSON download."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from ...errors import CycleResearcherError, InputError
from ...store import RunStore
from ..render import review_view
from ..site import SiteDep, check_reviewer, read_upload, record_kind, submit_redirect
from ..tasks import review_task
from ..uploads import MAX_PAPER_BYTES, is_safe_name, paper_suffix, safe_filename

router = APIRouter()


@router.post("/review-upload")
async def review_upload(
    request: Request,
    site: SiteDep,
    paper: Annotated[UploadFile | None, File()] = None,
    reviewer: Annotated[str, Form()] = "cyclereviewer",
    review_mode: Annotated[str, Form()] = "standard",
    model: Annotated[str, Form()] = "",
    engine: Annotated[str, Form()] = "auto",
    max_tokens: Annotated[int | None, Form()] = None,
    constrain: Annotated[str, Form()] = "auto",
) -> Response:
    from ...paper.readers import read_document
    from ...review.context import paper_id_for

    try:
        data = await read_upload(paper, MAX_PAPER_BYTES)
        if not data:
            raise InputError("No paper uploaded: choose a PDF, .tex, .md or .txt file.")
        name = safe_filename(paper.filename if paper else None, "paper")
        suffix = paper_suffix(data, name)
        check_reviewer(reviewer, review_mode)
        chosen = site.choice(model, engine, max_tokens, constrain)
        run = site.new_run("upload")
        folder = site.root / run / "uploads"
        folder.mkdir(exist_ok=True)
        stored = folder / (Path(name).stem + suffix)
        stored.write_bytes(data)
        try:
            doc = read_document(stored)
        except InputError as exc:
            raise InputError(str(exc).replace(str(stored), name)) from exc
    except CycleResearcherError as exc:
        return site.index(request, str(exc), 400, {"reviewer": reviewer})
    key = paper_id_for(name, doc.text)
    with RunStore(site.root / run) as store:
        store.set_meta("command", "web review-upload")
        store.put(
            "document",
            key,
            {
                "filename": name,
                "kind": doc.kind,
                "title": doc.title,
                "text": doc.text,
                "warnings": doc.warnings,
                "bibtex": doc.bibtex,
            },
        )
    task = review_task(site.services, chosen, "document", key, reviewer, review_mode)
    job = site.runner.submit(
        "review",
        run,
        task,
        label=f"review {name}",
        params={**chosen.describe(), "reviewer": reviewer, "mode": review_mode},
    )
    return submit_redirect(job.id)


@router.get("/runs/{run}/reviews/{key}", response_class=HTMLResponse)
async def review_page(request: Request, run: str, key: str, site: SiteDep) -> Response:
    path = site.run_path(run)
    if not is_safe_name(key):
        raise StarletteHTTPException(404)
    with RunStore(path, create=False) as store:
        review = store.get("review", key)
        document = store.get("document", key)
        paper = store.get("paper", key)
        detection = store.get("detection", key)
    if review is None and document is None:
        raise StarletteHTTPException(404)
    if paper is not None:
        title = paper.get("title") or "(no title parsed)"
    else:
        title = (document or {}).get("title") or (document or {}).get("filename") or key
    ctx = {
        "run": run, "key": key, "title": title, "review": review_view(review) if review else None,
        "document": document, "is_paper": paper is not None, "detection": detection,
        "defaults": site.defaults.describe(),
    }  # fmt: skip
    return site.page(request, "review.html", ctx)


@router.get("/runs/{run}/reviews/{key}/review.json")
async def download_review(run: str, key: str, site: SiteDep) -> Response:
    return JSONResponse(
        site.record(run, "review", key),
        headers={"Content-Disposition": f'attachment; filename="{key}-review.json"'},
    )


@router.post("/runs/{run}/{kind}/{key}/review")
async def review_action(
    request: Request,
    run: str,
    kind: str,
    key: str,
    site: SiteDep,
    reviewer: Annotated[str, Form()] = "cyclereviewer",
    review_mode: Annotated[str, Form()] = "standard",
    model: Annotated[str, Form()] = "",
    engine: Annotated[str, Form()] = "auto",
    max_tokens: Annotated[int | None, Form()] = None,
    constrain: Annotated[str, Form()] = "auto",
) -> Response:
    rkind = record_kind(kind)
    site.record(run, rkind, key)
    check_reviewer(reviewer, review_mode)
    chosen = site.choice(model, engine, max_tokens, constrain)
    task = review_task(site.services, chosen, rkind, key, reviewer, review_mode)
    params = {**chosen.describe(), "reviewer": reviewer, "mode": review_mode, "target": key}
    return submit_redirect(site.runner.submit("review", run, task, label=f"review {key}", params=params).id)
