"""A job's page (polls the API) and the JSON API: a job's state and the server's CSRF token."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..guards import TOKEN_FIELD, TOKEN_HEADER
from ..site import SiteDep

router = APIRouter()


@router.get("/jobs/{job_id}", response_class=HTMLResponse)
async def job_page(request: Request, job_id: str, site: SiteDep) -> Response:
    job = site.runner.get(job_id)
    if job is None:
        raise StarletteHTTPException(404)
    return site.page(request, "job.html", {"job": job})


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
