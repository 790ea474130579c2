"""Run the AI-text detector on a paper or an uploaded document (from the start page, with no
review first)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Request, UploadFile
from fastapi.responses import Response

from ...errors import CycleResearcherError
from ..documents import read_paper_upload, store_document
from ..site import SiteDep, record_kind, submit_redirect
from ..tasks import detect_task

router = APIRouter()


@router.post("/detect-upload")
async def detect_upload(
    request: Request, site: SiteDep, paper: Annotated[UploadFile | None, File()] = None
) -> Response:
    try:
        upload = await read_paper_upload(paper)
        run, key = await store_document(site, upload, "detect", "web detect-upload")
    except CycleResearcherError as exc:
        return site.index(request, str(exc), 400, at="detect")
    job = site.runner.submit(
        "detect", run, detect_task(site.services, "document", key), label=f"detect {upload.name}",
        params={"target": key, "record": "document"},
    )  # fmt: skip
    return submit_redirect(job.id)


@router.post("/runs/{run}/{kind}/{key}/detect")
async def detect_action(run: str, kind: str, key: str, site: SiteDep) -> Response:
    rkind = record_kind(kind)
    site.record(run, rkind, key)
    job = site.runner.submit(
        "detect", run, detect_task(site.services, rkind, key), label=f"detect {key}",
        params={"target": key, "record": rkind},
    )  # fmt: skip
    return submit_redirect(job.id)
