"""Run the AI-text detector on a paper or an uploaded document."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from ..site import SiteDep, record_kind, submit_redirect
from ..tasks import detect_task

router = APIRouter()


@router.post("/runs/{run}/{kind}/{key}/detect")
async def detect_action(run: str, kind: str, key: str, site: SiteDep) -> Response:
    rkind = record_kind(kind)
    site.record(run, rkind, key)
    job = site.runner.submit(
        "detect", run, detect_task(site.services, rkind, key), label=f"detect {key}", params={"target": key}
    )
    return submit_redirect(job.id)
