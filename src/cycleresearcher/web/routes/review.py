"""Reviewing: the start page's upload-and-review form, reviewing a paper or document of a run,
the review page and its JSON download."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from ...app.review import ReviewRequest, check_reviewer
from ...app.session import ModelChoice
from ...app.sources import PaperSource
from ...errors import CycleResearcherError
from ...store import RunStore
from ..documents import read_paper_upload, store_document
from ..render import review_view
from ..site import Site, SiteDep, record_kind, submit_redirect
from ..tasks import review_task
from ..uploads import is_safe_name

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
    typed = {
        "reviewer": reviewer, "review_mode": review_mode, "model": model, "engine": engine,
        "max_tokens": max_tokens, "constrain": constrain,
    }  # fmt: skip
    try:
        check_reviewer(reviewer, review_mode)
        chosen = site.choice(model, engine, max_tokens, constrain)
        upload = await read_paper_upload(paper)
        run, key = await store_document(site, upload, "upload", "web review-upload")
    except CycleResearcherError as exc:
        return site.index(request, str(exc), 400, typed, at="review")
    return _submit(site, run, "document", key, reviewer, review_mode, chosen, f"review {upload.name}", key)


def _submit(
    site: Site, run: str, kind: str, key: str, reviewer: str, mode: str, chosen: ModelChoice, label: str,
    target: str | None,
) -> Response:  # fmt: skip
    """The review of one record of ``run``, as a job in that run (it resumes the run; "Review
    again" with other settings asks for a new review of that paper on purpose: ``again``)."""
    folder = site.root / run
    request = ReviewRequest(
        [PaperSource.record(folder, kind, key)], reviewer=reviewer, mode=mode, choice=chosen,
        run_dir=folder, resume=True, again=True,
    )  # fmt: skip
    params = {
        **chosen.describe(), "reviewer": reviewer, "mode": mode, "record": kind, **({"target": target} if target else {}),
    }
    job = site.runner.submit("review", run, review_task(site.services, request), label=label, params=params)
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
        "defaults": site.defaults.describe(), "warned": site.job_warnings(run, key, ("review",)),
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
    chosen = site.choice(model, engine, max_tokens, constrain)
    return _submit(site, run, rkind, key, reviewer, review_mode, chosen, f"review {key}", key)
