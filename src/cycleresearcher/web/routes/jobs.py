"""A job's page (polls the API) and the JSON API: a job's state and the server's CSRF token."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from ...app.jobs import Job
from ..guards import TOKEN_FIELD, TOKEN_HEADER
from ..site import SiteDep, submit_redirect
from ..tasks import STOPPED, restart_generate

router = APIRouter()


@router.get("/jobs/{job_id}", response_class=HTMLResponse)
async def job_page(request: Request, job_id: str, site: SiteDep) -> Response:
    job = site.runner.get(job_id)
    if job is None:
        raise StarletteHTTPException(404)
    return site.page(request, "job.html", {"job": job, "back": way_back(job)})


@router.post("/jobs/{job_id}/resume")
async def resume_job(job_id: str, site: SiteDep) -> Response:
    """A stopped generate job started again in its own run (finished requests are reused)."""
    job = site.runner.get(job_id)
    if job is None:
        raise StarletteHTTPException(404)
    return submit_redirect(restart_generate(site, job).id)


def way_back(job: Job) -> dict[str, Any] | None:
    """For a stopped job, how its page offers to try again: ``resume`` (a generate job the page can
    start again in its run), and a link to the form it came from (``url``, ``text``)."""
    if job.state not in STOPPED:
        return None
    if job.kind == "generate":
        return {"resume": isinstance(job.params.get("form"), dict), "url": f"/?job={job.id}#generate",
                "text": "Back to the form, with these settings"}  # fmt: skip
    # the page of the paper or upload it worked on holds the form that starts it again
    target = job.params.get("target")
    record = job.params.get("record", "paper" if job.kind in ("complete", "novelty") else None)
    if target and record:
        page = "papers" if record == "paper" else "reviews"
        return {"resume": False, "url": f"/runs/{job.run}/{page}/{target}", "text": "Back to its page, to start it again"}
    return {"resume": False, "url": f"/runs/{job.run}", "text": "Back to its run"}


@router.get("/api/token")
async def token_api(site: SiteDep) -> Response:
    # Readable only by same-origin pages and local clients: no CORS headers, and the Host
    # check stops DNS rebinding.
    return JSONResponse({"token": site.token, "header": TOKEN_HEADER, "field": TOKEN_FIELD})


@router.get("/api/jobs/{job_id}")
async def job_api(job_id: str, site: SiteDep) -> Response:
    job = site.runner.get(job_id)
    if job is None:
        return JSONResponse({"error": "no such job"}, status_code=404)
    return JSONResponse(job.to_dict())
