"""The start page: the generate and review-upload forms, recent runs and jobs."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from ..site import SiteDep

router = APIRouter()


@router.get("/", response_class=HTMLResponse)
async def home(request: Request, site: SiteDep, job: str = "") -> Response:
    """The start page; ``?job=ID`` fills the generate form with that job's fields (its page's
    "Back to the form")."""
    again = site.runner.get(job) if job else None
    if again is None or not isinstance(again.params.get("form"), dict):
        return site.index(request)
    return site.index(request, form=site.job_form(again), again=again)
