"""Every failure as the page's one-line error page: no traceback ever reaches the browser (an
unexpected one goes to the server log)."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..errors import CycleResearcherError

log = logging.getLogger("cycleresearcher.web")


def _error(request: Request, status: int, message: str) -> Response:
    return request.app.state.site.error(request, status, message)


async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
    message = (
        exc.detail
        if isinstance(exc.detail, str) and exc.status_code != 404
        else "Not found. Pick a run from the list on the start page."
    )
    return _error(request, exc.status_code, message)


async def bad_form(request: Request, exc: RequestValidationError) -> Response:
    fields = ", ".join(str(e.get("loc", ["?"])[-1]) for e in exc.errors())
    return _error(request, 400, f"Some form fields are missing or invalid: {fields}. Go back and correct them.")


async def our_error(request: Request, exc: CycleResearcherError) -> Response:
    return _error(request, 400, str(exc))


async def internal(request: Request, exc: Exception) -> Response:
    log.exception("request %s %s failed", request.method, request.url.path)
    return _error(
        request,
        500,
        f"Internal error ({type(exc).__name__}). Nothing was lost; see the server log for details.",
    )


def install(app: FastAPI) -> None:
    """Register the handlers on ``app``."""
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, bad_form)
    app.add_exception_handler(CycleResearcherError, our_error)
    app.add_exception_handler(Exception, internal)


__all__ = ["install"]
