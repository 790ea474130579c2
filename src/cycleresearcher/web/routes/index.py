"""The start page: the generate and review-upload forms, recent runs and jobs."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from ..site import SiteDep

router = APIRouter()


@router.get("/", response_class=HTMLResponse)
async def home(request: Request, site: SiteDep) -> Response:
    return site.index(request)
