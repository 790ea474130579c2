"""The local web page: FastAPI + server-rendered Jinja2 pages over the same API as the CLI.

``create_app(runs_dir)`` builds the app; ``cycleresearcher serve`` runs it with uvicorn on
127.0.0.1. Every long action (generate, complete, review, detect) becomes a background job
(jobs.py) whose page polls ``/api/jobs/{id}``; results are ordinary run directories under
``runs_dir`` that the CLI can read too (and CLI runs there show up in the page).

Safety: a server given an ``access_token`` (``serve --host`` off loopback) answers nothing to a
request without it (guards.AccessGuard); only loopback Host names are served unless told otherwise
(DNS rebinding); a POST must
come from the page itself: a foreign or ``null`` Origin is refused, and a POST without an Origin
must carry the server's secret token (hidden field ``csrf_token`` in every form, or the
``X-CSRF-Token`` header for scripts), so no other site, sandboxed frame or file:// page can start
jobs; request bodies are counted as they stream in and cut off at the form's limit (413), chunked
or not, before anything big is spooled to disk; uploads are size-capped and typed by content
(app/uploads.py), names in URLs must be single safe path components, LaTeX is
compiled by export.py with the CLI's restrictions, and the OpenAI-compatible server URL and key
come only from the server's own options and environment: the page can neither set nor see them.

Where things are: guards.py (Origin, token, body limit), site.py (what the routes share),
error_pages.py, routes/ (one module per page), tasks.py (the work behind each button).
"""

from __future__ import annotations

import secrets
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import Depends, FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.middleware.trustedhost import TrustedHostMiddleware

from ..app.jobs import JobRunner
from ..app.session import DetectorFactory, EngineFactory
from ..app.session import ModelChoice as EngineChoice
from ..app.session import Sessions as Services
from .error_pages import install as install_error_pages
from .guards import (
    LOOPBACK_HOSTS,
    AccessGuard,
    BodyLimit,
    body_limit,
    origin_guard,
    require_token,
    too_large,
)
from .routes import detect, evaluate, index, jobs, novelty, papers, research, review, runs
from .site import HERE, Site

#: in the order they were written; no two routes match the same method and path
ROUTERS = (index, research, review, jobs, runs, papers, detect, novelty, evaluate)


def create_app(
    runs_dir: str | Path = "runs",
    *,
    model: str | None = None,
    engine: str | None = None,
    base_url: str | None = None,
    api_key: str | None = None,
    max_tokens: int | None = None,
    engine_factory: EngineFactory | None = None,
    detector_factory: DetectorFactory | None = None,
    allowed_hosts: list[str] | None = None,
    csrf_token: str | None = None,
    access_token: str | None = None,
) -> FastAPI:
    """The web app over ``runs_dir``. ``model``/``engine``/``base_url``/``max_tokens`` are the form's
    defaults (``base_url`` is fixed by the server: the page cannot change where requests go; its
    ``api_key``, default ``$OPENAI_API_KEY``, never reaches a page).
    ``engine_factory(model, engine, base_url, family)`` and ``detector_factory()`` replace how
    engines and the detector are built (tests inject the scripted engine). ``csrf_token`` fixes the
    secret that a POST without an Origin header must carry (default: a new random one per server,
    readable as ``app.state.csrf_token``, in every page and at ``GET /api/token``). ``access_token``
    makes every request (``/api/token`` included) need that secret (``guards.AccessGuard``): what a
    server reachable by other machines must have."""
    site = Site(
        runner=JobRunner(runs_dir),
        services=Services(engine_factory, detector_factory),
        defaults=EngineChoice(model, engine, base_url, api_key, max_tokens=max_tokens),
        token=csrf_token or secrets.token_urlsafe(32),
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        yield
        site.runner.shutdown()
        site.services.close()

    app = FastAPI(
        title="CycleResearcher",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        lifespan=lifespan,
        dependencies=[Depends(require_token)],
    )
    app.state.site = site
    app.state.runner, app.state.services, app.state.defaults = site.runner, site.services, site.defaults
    app.state.csrf_token = site.token
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    # Outermost last: the Host check, then the Origin check, then the body limit.
    app.add_middleware(BodyLimit, limit_for=body_limit, reject=too_large)
    app.middleware("http")(origin_guard)
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=allowed_hosts or LOOPBACK_HOSTS)
    if access_token:
        app.add_middleware(AccessGuard, token=access_token)
    install_error_pages(app)
    for module in ROUTERS:
        app.include_router(module.router)
    return app


__all__ = ["create_app"]
