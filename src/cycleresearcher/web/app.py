"""The local web page: FastAPI + server-rendered Jinja2 pages over the same API as the CLI.

``create_app(runs_dir)`` builds the app; ``cycleresearcher serve`` runs it with uvicorn on
127.0.0.1. Every long action (generate, complete, review, detect) becomes a background job
(jobs.py) whose page polls ``/api/jobs/{id}``; results are ordinary run directories under
``runs_dir`` that the CLI can read too (and CLI runs there show up in the page).

Safety: only loopback Host names are served unless told otherwise (DNS rebinding); a POST must
come from the page itself: a foreign or ``null`` Origin is refused, and a POST without an Origin
must carry the server's secret token (hidden field ``csrf_token`` in every form, or the
``X-CSRF-Token`` header for scripts), so no other site, sandboxed frame or file:// page can start
jobs; request bodies are counted as they stream in and cut off at the form's limit (413), chunked
or not, before anything big is spooled to disk; uploads are size-capped and typed by content
(uploads.py), names in URLs must be single safe path components, LaTeX is
compiled by export.py with the CLI's restrictions, and the OpenAI-compatible server URL and key
come only from the server's own options and environment: the page can neither set nor see them.
"""

from __future__ import annotations

import io
import logging
import secrets
import zipfile
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import Depends, FastAPI, File, Form, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..errors import CycleResearcherError, InputError
from ..models import is_embedded
from ..results import validate_results
from ..store import DB_NAME, RunStore
from . import render, uploads
from .jobs import JobRunner
from .tasks import (
    DetectorFactory,
    EngineChoice,
    EngineFactory,
    Services,
    complete_task,
    detect_task,
    generate_task,
    paper_folder,
    review_task,
)

log = logging.getLogger("cycleresearcher.web")
HERE = Path(__file__).parent
#: the whole request body, at most; each form has its own, smaller limit (``body_limit``) and each
#: upload its own again (uploads.py)
MAX_REQUEST_BYTES = 40 * 1024 * 1024
#: room for a form's text fields next to its file (and the whole body of a form without a file)
FORM_BYTES = 1024 * 1024
#: the header that carries the token for clients that are not the page (scripts, curl)
TOKEN_HEADER = "X-CSRF-Token"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
LOOPBACK_HOSTS = ["127.0.0.1", "localhost", "::1", "[::1]"]
ENGINES = ["auto", "llamacpp", "hf", "vllm", "openai"]
MAX_N = 16


#: the forms' default for the embedded 135M stand-in; released and user-given models (a hub id, a
#: local model, a server's model) get each task's own default, upstream's token limits
EMBEDDED_MAX_TOKENS = 256


def create_app(
    runs_dir: str | Path = "runs",
    *,
    model: str | None = None,
    engine: str | None = None,
    base_url: str | None = None,
    max_tokens: int | None = None,
    engine_factory: EngineFactory | None = None,
    detector_factory: DetectorFactory | None = None,
    allowed_hosts: list[str] | None = None,
    csrf_token: str | None = None,
) -> FastAPI:
    """The web app over ``runs_dir``. ``model``/``engine``/``base_url``/``max_tokens`` are the form's
    defaults (``base_url`` is fixed by the server: the page cannot change where requests go).
    ``engine_factory(model, engine, base_url, family)`` and ``detector_factory()`` replace how
    engines and the detector are built (tests inject the scripted engine). ``csrf_token`` fixes the
    secret that a POST without an Origin header must carry (default: a new random one per server,
    readable as ``app.state.csrf_token``, in every page and at ``GET /api/token``)."""
    runner = JobRunner(runs_dir)
    # the page offers the built-in engines and the server's own (`serve --engine mypkg:MyEngine`),
    # never a module a form names
    engines = [*ENGINES, engine] if engine and engine not in ENGINES else ENGINES
    token = csrf_token or secrets.token_urlsafe(32)
    services = Services(engine_factory, detector_factory)
    defaults = EngineChoice(model=model, engine=engine, base_url=base_url, max_tokens=max_tokens)

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        yield
        runner.shutdown()
        services.close()

    async def require_token(request: Request) -> None:
        """A state-changing request without an Origin header (not sent by a browser page, or by an
        old browser) must prove it knows the server's token; the Origin itself is checked earlier."""
        if request.method in SAFE_METHODS or request.headers.get("origin"):
            return
        sent = request.headers.get(TOKEN_HEADER, "")
        if not sent and "form" in request.headers.get("content-type", ""):
            value = (await request.form()).get("csrf_token")  # parsed once; FastAPI reuses it
            sent = value if isinstance(value, str) else ""
        if not secrets.compare_digest(sent.encode(), token.encode()):
            raise StarletteHTTPException(
                403,
                "This request has no Origin header and no valid token, so it may come from another site. "
                "Use the forms of this page, or send the token from GET /api/token in the "
                f"{TOKEN_HEADER} header.",
            )

    app = FastAPI(
        title="CycleResearcher",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        lifespan=lifespan,
        dependencies=[Depends(require_token)],
    )
    app.state.runner, app.state.services, app.state.defaults = runner, services, defaults
    app.state.csrf_token = token
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    templates.env.globals.update(num=render.num, percent=render.percent, engines=engines, csrf_token=token)
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    root = runner.runs_dir

    # -- guards and error pages ---------------------------------------------------------------
    # Outermost first: the Host check, then the Origin check, then the body limit.
    async def too_large(scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        message = f"The upload is too large: this form accepts at most {_size(limit)}. Upload a smaller file."
        response = _error(Request(scope), 413, message)
        # close the connection: otherwise the server reads (and drops) the rest of a huge body
        response.headers["Connection"] = "close"
        await response(scope, receive, send)

    app.add_middleware(BodyLimit, limit_for=body_limit, reject=too_large)

    @app.middleware("http")
    async def guard(request: Request, call_next):
        if request.method not in SAFE_METHODS:
            origin = request.headers.get("origin")
            # "null" is what sandboxed frames, file:// pages and some redirects send
            if origin is not None and (
                origin == "null" or urlsplit(origin).netloc != request.headers.get("host")
            ):
                return _error(
                    request,
                    403,
                    "This form was sent from another site; the local server only accepts its own pages.",
                )
        return await call_next(request)

    app.add_middleware(TrustedHostMiddleware, allowed_hosts=allowed_hosts or LOOPBACK_HOSTS)

    def _error(request: Request, status: int, message: str) -> Response:
        return templates.TemplateResponse(
            request, "error.html", {"status": status, "message": message}, status_code=status
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        message = (
            exc.detail
            if isinstance(exc.detail, str) and exc.status_code != 404
            else "Not found. Pick a run from the list on the start page."
        )
        return _error(request, exc.status_code, message)

    @app.exception_handler(RequestValidationError)
    async def bad_form(request: Request, exc: RequestValidationError) -> Response:
        fields = ", ".join(str(e.get("loc", ["?"])[-1]) for e in exc.errors())
        return _error(
            request, 400, f"Some form fields are missing or invalid: {fields}. Go back and correct them."
        )

    @app.exception_handler(CycleResearcherError)
    async def our_error(request: Request, exc: CycleResearcherError) -> Response:
        return _error(request, 400, str(exc))

    @app.exception_handler(Exception)
    async def internal(request: Request, exc: Exception) -> Response:
        log.exception("request %s %s failed", request.method, request.url.path)
        return _error(
            request,
            500,
            f"Internal error ({type(exc).__name__}). Nothing was lost; see the server log for details.",
        )

    # -- helpers ------------------------------------------------------------------------------
    def run_path(run: str) -> Path:
        path = uploads.inside(root, run)
        if path is None or not (path / DB_NAME).is_file():
            raise StarletteHTTPException(404)
        return path

    def record(run: str, kind: str, key: str) -> dict[str, Any]:
        if not uploads.is_safe_name(key):
            raise StarletteHTTPException(404)
        with RunStore(run_path(run), create=False) as store:
            data = store.get(kind, key)
        if data is None:
            raise StarletteHTTPException(404)
        return data

    def choice(model: str, engine: str, max_tokens: int | None) -> EngineChoice:
        eng = None if engine in ("", "auto") else engine
        if eng is not None and eng not in engines:
            raise InputError(f"Unknown engine '{engine}'. Choose one of: {', '.join(engines)}.")
        if eng == "openai" and not defaults.base_url:
            raise InputError(
                "The openai engine needs a server URL: restart with `cycleresearcher serve --base-url URL` (the key comes from OPENAI_API_KEY)."
            )
        tokens = max_tokens or defaults.max_tokens
        chosen_model = model.strip() or defaults.model
        if tokens is None and not defaults.base_url and is_embedded(chosen_model):
            tokens = EMBEDDED_MAX_TOKENS  # the stand-in on a CPU: minutes, not hours
        if tokens is not None and not 1 <= tokens <= 100_000:
            raise InputError(f"Max new tokens must be between 1 and 100000, got {tokens}.")
        return EngineChoice(
            model=chosen_model,
            engine=eng or defaults.engine,
            base_url=defaults.base_url,
            max_tokens=tokens,
        )

    def new_run(prefix: str) -> str:
        import secrets
        import time

        name = f"{prefix}-{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(2)}"
        RunStore(root / name).close()
        return name

    def index(
        request: Request, error: str | None = None, status: int = 200, form: dict[str, Any] | None = None
    ) -> Response:
        ctx = {
            "runs": _runs(root),
            "jobs": runner.recent(10),
            "defaults": defaults.describe(),
            "error": error,
            "form": form or {},
        }
        return templates.TemplateResponse(request, "index.html", ctx, status_code=status)

    async def read_upload(upload: UploadFile | None, limit: int) -> bytes:
        if upload is None or not upload.filename:
            return b""
        data = await upload.read(limit + 1)
        return uploads.check_size(data, limit, f"file {uploads.safe_filename(upload.filename, 'upload')}")

    def submit_redirect(job_id: str) -> Response:
        return RedirectResponse(f"/jobs/{job_id}", status_code=303)

    # -- pages --------------------------------------------------------------------------------
    @app.get("/", response_class=HTMLResponse)
    async def home(request: Request) -> Response:
        return index(request)

    @app.post("/generate")
    async def generate(
        request: Request,
        bib: Annotated[UploadFile | None, File()] = None,
        references_text: Annotated[str, Form()] = "",
        topic: Annotated[str, Form()] = "",
        n: Annotated[int, Form()] = 1,
        mode: Annotated[str, Form()] = "simulate",
        model: Annotated[str, Form()] = "",
        engine: Annotated[str, Form()] = "auto",
        max_tokens: Annotated[int | None, Form()] = None,
        pdf: Annotated[str, Form()] = "",
    ) -> Response:
        from ..references import load_references
        from ..research import ResearchSettings

        form = {
            "references_text": references_text,
            "topic": topic,
            "n": n,
            "mode": mode,
            "model": model,
            "engine": engine,
            "max_tokens": max_tokens,
        }
        try:
            data = await read_upload(bib, uploads.MAX_BIB_BYTES)
            source = uploads.safe_filename(bib.filename if bib else None, "references.bib")
            if not data.strip():
                data, source = references_text.encode("utf-8"), "pasted.bib"
            if not data.strip():
                raise InputError("No references: upload a .bib file or paste BibTeX entries.")
            uploads.references_bytes(data)
            refs = load_references(data, name=source)  # syntax errors now, inline, with file and line
            if not refs.references:
                raise InputError(
                    f"{source}: no references found. Upload BibTeX entries (@article{{...}}) or a paper-record JSON."
                )
            if not 1 <= n <= MAX_N:
                raise InputError(f"Papers to generate must be between 1 and {MAX_N}, got {n}.")
            settings = ResearchSettings(n=n, topic=topic.strip() or None, mode=mode, max_tokens=None)
            chosen = choice(model, engine, max_tokens)
            settings.max_tokens = chosen.max_tokens
        except CycleResearcherError as exc:
            return index(request, str(exc), 400, form)
        run = new_run("web")
        (root / run / "uploads").mkdir(exist_ok=True)
        (root / run / "uploads" / source).write_bytes(data)
        params = {
            **chosen.describe(),
            "n": n,
            "mode": mode,
            "topic": settings.topic,
            "references": source,
            "pdf": bool(pdf),
        }
        job = runner.submit(
            "generate",
            run,
            generate_task(services, chosen, data, source, settings, bool(pdf)),
            label=f"generate from {source}",
            params=params,
        )
        return submit_redirect(job.id)

    @app.post("/review-upload")
    async def review_upload(
        request: Request,
        paper: Annotated[UploadFile | None, File()] = None,
        reviewer: Annotated[str, Form()] = "cyclereviewer",
        review_mode: Annotated[str, Form()] = "standard",
        model: Annotated[str, Form()] = "",
        engine: Annotated[str, Form()] = "auto",
        max_tokens: Annotated[int | None, Form()] = None,
    ) -> Response:
        from ..inputs import read_document
        from ..review.context import paper_id_for

        try:
            data = await read_upload(paper, uploads.MAX_PAPER_BYTES)
            if not data:
                raise InputError("No paper uploaded: choose a PDF, .tex, .md or .txt file.")
            name = uploads.safe_filename(paper.filename if paper else None, "paper")
            suffix = uploads.paper_suffix(data, name)
            _check_reviewer(reviewer, review_mode)
            chosen = choice(model, engine, max_tokens)
            run = new_run("upload")
            folder = root / run / "uploads"
            folder.mkdir(exist_ok=True)
            stored = folder / (Path(name).stem + suffix)
            stored.write_bytes(data)
            try:
                doc = read_document(stored)
            except InputError as exc:
                raise InputError(str(exc).replace(str(stored), name)) from exc
        except CycleResearcherError as exc:
            return index(request, str(exc), 400, {"reviewer": reviewer})
        key = paper_id_for(name, doc.text)
        with RunStore(root / run) as store:
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
        task = review_task(services, chosen, "document", key, reviewer, review_mode)
        job = runner.submit(
            "review",
            run,
            task,
            label=f"review {name}",
            params={**chosen.describe(), "reviewer": reviewer, "mode": review_mode},
        )
        return submit_redirect(job.id)

    @app.get("/jobs/{job_id}", response_class=HTMLResponse)
    async def job_page(request: Request, job_id: str) -> Response:
        job = runner.get(job_id)
        if job is None:
            raise StarletteHTTPException(404)
        return templates.TemplateResponse(request, "job.html", {"job": job})

    @app.get("/api/token")
    async def token_api() -> Response:
        # Readable only by same-origin pages and local clients: no CORS headers, and the Host
        # check stops DNS rebinding.
        return JSONResponse({"token": token, "header": TOKEN_HEADER, "field": "csrf_token"})

    @app.get("/api/jobs/{job_id}")
    async def job_api(job_id: str) -> Response:
        job = runner.get(job_id)
        if job is None:
            return JSONResponse({"error": "no such job"}, status_code=404)
        return JSONResponse(job.to_dict())

    @app.get("/runs", response_class=HTMLResponse)
    async def runs_page(request: Request) -> Response:
        return templates.TemplateResponse(request, "runs.html", {"runs": _runs(root)})

    @app.get("/runs/{run}", response_class=HTMLResponse)
    async def run_page(request: Request, run: str) -> Response:
        path = run_path(run)
        with RunStore(path, create=False) as store:
            papers = [(k, d) for k, d in store.items("paper")]
            reviews = dict(store.items("review"))
            detections = dict(store.items("detection"))
            documents = [(k, d) for k, d in store.items("document")]
            command = store.get_meta("command", "")
        ctx = {
            "run": run,
            "papers": papers,
            "reviews": reviews,
            "detections": detections,
            "documents": documents,
            "command": command,
            "jobs": runner.for_run(run),
        }
        return templates.TemplateResponse(request, "run.html", ctx)

    @app.get("/runs/{run}/papers/{pid}", response_class=HTMLResponse)
    async def paper_page(request: Request, run: str, pid: str) -> Response:
        paper = record(run, "paper", pid)
        path = run_path(run)
        with RunStore(path, create=False) as store:
            review = store.get("review", pid)
            detection = store.get("detection", pid)
        awaiting = (paper.get("meta") or {}).get("stage") == "awaiting_results"
        ctx = {
            "run": run, "pid": pid, "paper": paper, "awaiting": awaiting,
            "sections": render.paper_sections(paper),
            "setup": render.experiments(paper.get("Experimental_Setup")),
            "results": render.with_figures(
                render.experiments(paper.get("Experimental_results")),
                paper_folder(path, pid) / "latex" / "figures", f"/runs/{run}/papers/{pid}/figures",
            ),
            "review": render.review_view(review) if review else None,
            "detection": detection,
            "has_pdf": (paper_folder(path, pid) / "latex" / "main.pdf").is_file(),
            "jobs": [j for j in runner.for_run(run) if j.params.get("target") == pid and j.state in ("queued", "running")],
            "defaults": defaults.describe(),
        }  # fmt: skip
        return templates.TemplateResponse(request, "paper.html", ctx)

    @app.get("/runs/{run}/reviews/{key}", response_class=HTMLResponse)
    async def review_page(request: Request, run: str, key: str) -> Response:
        path = run_path(run)
        if not uploads.is_safe_name(key):
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
            "run": run, "key": key, "title": title, "review": render.review_view(review) if review else None,
            "document": document, "is_paper": paper is not None, "detection": detection, "defaults": defaults.describe(),
        }  # fmt: skip
        return templates.TemplateResponse(request, "review.html", ctx)

    # -- downloads ----------------------------------------------------------------------------
    @app.get("/runs/{run}/papers/{pid}/paper.json")
    async def download_json(run: str, pid: str) -> Response:
        from ..export import export_json
        from ..paper import Paper

        paper = record(run, "paper", pid)
        target = paper_folder(run_path(run), pid) / "paper.json"
        if not target.is_file():
            export_json(Paper.from_dict(paper), target)
        return FileResponse(target, media_type="application/json", filename=f"{pid}.json")

    @app.get("/runs/{run}/papers/{pid}/latex.zip")
    async def download_zip(run: str, pid: str) -> Response:
        from ..export import export_latex_project
        from ..paper import Paper

        paper = record(run, "paper", pid)
        folder = paper_folder(run_path(run), pid) / "latex"
        if not (folder / "main.tex").is_file():
            p = Paper.from_dict(paper)
            export_latex_project(p, folder, p.references_bib, compile=False)
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            for f in sorted(folder.iterdir()):
                if f.is_file() and not f.is_symlink():
                    zf.write(f, f"{pid}/{f.name}")
        headers = {"Content-Disposition": f'attachment; filename="{pid}-latex.zip"'}
        return Response(buf.getvalue(), media_type="application/zip", headers=headers)

    @app.get("/runs/{run}/papers/{pid}/paper.pdf")
    async def download_pdf(run: str, pid: str) -> Response:
        record(run, "paper", pid)
        pdf = paper_folder(run_path(run), pid) / "latex" / "main.pdf"
        if not pdf.is_file():
            raise StarletteHTTPException(
                409,
                "No PDF was compiled for this paper (TeX Live / latexmk missing, the compile failed, or PDF was unticked). Download the LaTeX project instead.",
            )
        return FileResponse(pdf, media_type="application/pdf", filename=f"{pid}.pdf")

    @app.get("/runs/{run}/papers/{pid}/figures/{name}")
    async def result_figure(run: str, pid: str, name: str) -> Response:
        record(run, "paper", pid)
        if not render.FIGURE_NAME.fullmatch(name):  # only the plots we drew, nothing else on disk
            raise StarletteHTTPException(404)
        path = paper_folder(run_path(run), pid) / "latex" / "figures" / name
        if not path.is_file():
            raise StarletteHTTPException(404)
        return FileResponse(path, media_type="image/png")

    @app.get("/runs/{run}/reviews/{key}/review.json")
    async def download_review(run: str, key: str) -> Response:
        return JSONResponse(
            record(run, "review", key),
            headers={"Content-Disposition": f'attachment; filename="{key}-review.json"'},
        )

    # -- actions on a paper / uploaded document -----------------------------------------------
    @app.post("/runs/{run}/{kind}/{key}/review")
    async def review_action(
        request: Request,
        run: str,
        kind: str,
        key: str,
        reviewer: Annotated[str, Form()] = "cyclereviewer",
        review_mode: Annotated[str, Form()] = "standard",
        model: Annotated[str, Form()] = "",
        engine: Annotated[str, Form()] = "auto",
        max_tokens: Annotated[int | None, Form()] = None,
    ) -> Response:
        rkind = _kind(kind)
        record(run, rkind, key)
        _check_reviewer(reviewer, review_mode)
        chosen = choice(model, engine, max_tokens)
        task = review_task(services, chosen, rkind, key, reviewer, review_mode)
        params = {**chosen.describe(), "reviewer": reviewer, "mode": review_mode, "target": key}
        return submit_redirect(runner.submit("review", run, task, label=f"review {key}", params=params).id)

    @app.post("/runs/{run}/{kind}/{key}/detect")
    async def detect_action(run: str, kind: str, key: str) -> Response:
        rkind = _kind(kind)
        record(run, rkind, key)
        job = runner.submit(
            "detect", run, detect_task(services, rkind, key), label=f"detect {key}", params={"target": key}
        )
        return submit_redirect(job.id)

    @app.post("/runs/{run}/papers/{pid}/complete")
    async def complete_action(
        request: Request,
        run: str,
        pid: str,
        results: Annotated[UploadFile | None, File()] = None,
        model: Annotated[str, Form()] = "",
        engine: Annotated[str, Form()] = "auto",
        max_tokens: Annotated[int | None, Form()] = None,
        pdf: Annotated[str, Form()] = "",
    ) -> Response:
        record(run, "paper", pid)  # a complete paper is redone; its earlier version is kept
        data = await read_upload(results, uploads.MAX_RESULTS_BYTES)
        value = uploads.results_json(data)
        validate_results(value, "results file")  # the documented shape, before any model runs
        chosen = choice(model, engine, max_tokens)
        task = complete_task(services, chosen, pid, value, bool(pdf))
        return submit_redirect(
            runner.submit(
                "complete", run, task, label=f"complete {pid}", params={**chosen.describe(), "target": pid}
            ).id
        )

    return app


def body_limit(method: str, path: str) -> int:
    """The most bytes a request body to ``path`` may have: its upload's limit plus room for the
    form's text fields (the generate form may carry a .bib file and pasted BibTeX)."""
    if path == "/generate":
        limit = 2 * uploads.MAX_BIB_BYTES + FORM_BYTES
    elif path == "/review-upload":
        limit = uploads.MAX_PAPER_BYTES + FORM_BYTES
    elif method == "POST" and path.endswith("/complete"):
        limit = uploads.MAX_RESULTS_BYTES + FORM_BYTES
    else:
        limit = FORM_BYTES
    return min(limit, MAX_REQUEST_BYTES)


def _size(n: int) -> str:
    return f"{n / 2**20:.0f} MB" if n >= 2**20 else f"{n / 1024:.0f} KB"


class _BodyTooLarge(Exception):
    pass


class BodyLimit:
    """ASGI middleware: count a request's body as it streams in and answer 413 as soon as it
    passes ``limit_for(method, path)``; a declared Content-Length over the limit is refused before
    a byte is read. Without it a chunked upload (no Content-Length) is spooled to a temp file whole
    before any size check runs."""

    def __init__(self, app: ASGIApp, limit_for, reject) -> None:
        self.app, self.limit_for, self.reject = app, limit_for, reject

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["method"], scope["path"])
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit:
            await self.reject(scope, receive, send, limit)
            return
        received, over, started = 0, False, False

        async def counted() -> Message:
            nonlocal received, over
            if over:
                raise _BodyTooLarge
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    over = True
                    raise _BodyTooLarge  # the parser stops here; the rest is never read
            return message

        async def guarded(message: Message) -> None:
            nonlocal started
            if over:  # whatever the app answers to a cut-off body, the answer is 413
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, guarded)
        except Exception:
            if not over:
                raise
        if over and not started:
            await self.reject(scope, receive, send, limit)


def _kind(segment: str) -> str:
    kinds = {"papers": "paper", "documents": "document"}
    if segment not in kinds:
        raise StarletteHTTPException(404)
    return kinds[segment]


def _check_reviewer(reviewer: str, mode: str) -> None:
    if reviewer not in ("cyclereviewer", "deepreviewer"):
        raise InputError(f"Unknown reviewer '{reviewer}'. Choose cyclereviewer or deepreviewer.")
    if mode not in ("fast", "standard", "best"):
        raise InputError(f"Unknown DeepReviewer mode '{mode}'. Choose fast, standard or best.")


def _runs(root: Path) -> list[dict[str, Any]]:
    """Run folders under ``root`` (newest first) with what each holds."""
    out = []
    for db in sorted(root.glob(f"*/{DB_NAME}"), key=lambda p: p.stat().st_mtime, reverse=True):
        if not uploads.is_safe_name(db.parent.name):
            continue
        try:
            with RunStore(db.parent, create=False) as store:
                counts = {k: len(store.items(k)) for k in ("paper", "review", "detection", "document")}
                command = store.get_meta("command", "")
        except CycleResearcherError:
            continue
        out.append({"name": db.parent.name, "command": command, "mtime": db.stat().st_mtime, **counts})
    return out
