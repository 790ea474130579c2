"""What the pages share: the job runner, the engine services, the forms' defaults, the templates,
and the small steps every route takes (find a run, read a record, check a form's engine choice).

One :class:`Site` per app, kept in ``app.state.site``; a route asks for it with ``SiteDep``.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..app.jobs import Job, JobRunner
from ..app.runfolder import is_run
from ..app.runfolder import list_runs as runs_under
from ..app.session import ModelChoice as EngineChoice
from ..app.session import Sessions as Services
from ..app.uploads import check_size
from ..errors import InputError
from ..latex import plain_title
from ..store import RunStore
from .render import num, percent
from .uploads import inside, is_safe_name, safe_filename

HERE = Path(__file__).parent
ENGINES = ["auto", "llamacpp", "hf", "vllm", "openai"]
MAX_N = 16
#: the name pasted references are kept under in a run's uploads/
PASTED = "pasted.bib"
#: the forms' Constrain field -> the API's ``constrain`` (None: auto, on for every model but the released ones)
CONSTRAIN_CHOICES: dict[str, bool | None] = {"auto": None, "on": True, "off": False}


@dataclass
class Site:
    """The app's shared parts; ``token`` is the CSRF secret (also in every form, see guards.py)."""

    runner: JobRunner
    services: Services
    defaults: EngineChoice
    token: str
    templates: Jinja2Templates = field(init=False)
    #: the built-in engines and the server's own (`serve --engine mypkg:MyEngine`), never a module a
    #: form names
    engines: list[str] = field(init=False)

    def __post_init__(self) -> None:
        own = self.defaults.engine
        self.engines = [*ENGINES, own] if own and own not in ENGINES else list(ENGINES)
        self.templates = Jinja2Templates(directory=str(HERE / "templates"))
        self.templates.env.filters["plain_title"] = plain_title
        self.templates.env.globals.update(
            num=num, percent=percent, engines=self.engines, csrf_token=self.token
        )

    @property
    def root(self) -> Path:
        return self.runner.runs_dir

    # -- responses ------------------------------------------------------------------------------
    def page(self, request: Request, name: str, ctx: dict[str, Any], status: int = 200) -> Response:
        return self.templates.TemplateResponse(request, name, ctx, status_code=status)

    def error(self, request: Request, status: int, message: str) -> Response:
        return self.page(request, "error.html", {"status": status, "message": message}, status)

    def index(
        self,
        request: Request,
        error: str | None = None,
        status: int = 200,
        form: dict[str, Any] | None = None,
        at: str = "generate",
        again: Job | None = None,
    ) -> Response:
        """The start page; a form's error is shown inline in the card of form ``at`` (generate,
        review or detect), with what was typed there kept in ``form``."""
        ctx = {
            "runs": self.runs(),
            "jobs": self.runner.recent(10),
            "defaults": self.defaults.describe(),
            "error": error,
            "error_at": at,
            "form": form or {},
            "again": again,
        }
        return self.page(request, "index.html", ctx, status)

    def job_form(self, job: Job) -> dict[str, Any]:
        """The generate form's fields of ``job`` again; pasted references come back as pasted (an
        uploaded file cannot be chosen for the user: the page asks for it again)."""
        form = dict(job.params.get("form") or {})
        if job.params.get("references") == PASTED:
            path = self.root / job.run / "uploads" / PASTED
            form["references_text"] = path.read_text(encoding="utf-8") if path.is_file() else ""
        return form

    def job_warnings(self, run: str, key: str, kinds: tuple[str, ...]) -> Job | None:
        """The last finished job of ``kinds`` that made ``key``'s result (or the run's papers), when
        it warned about something: its page opened the result at once, so the result's page shows
        them (e.g. the embedded review's cut input)."""
        for job in self.runner.for_run(run):
            if job.kind in kinds and job.state == "done" and job.params.get("target") in (key, None):
                return job if job.warnings else None
        return None

    # -- runs and records -----------------------------------------------------------------------
    def runs(self) -> list[dict[str, Any]]:
        """The runs a URL can name (``list_runs``), each with ``state``: its last job's (a failed
        run would look like an empty finished one without it), empty for a run with no job."""
        last: dict[str, str] = {}
        for job in self.runner.recent(10_000):  # newest first: the first seen is the last job
            last.setdefault(job.run, job.state)
        return [run | {"state": last.get(run["name"], "")} for run in list_runs(self.root)]

    def run_path(self, run: str) -> Path:
        path = inside(self.root, run)
        if path is None or not is_run(path):
            raise StarletteHTTPException(404)
        return path

    def record(self, run: str, kind: str, key: str) -> dict[str, Any]:
        if not is_safe_name(key):
            raise StarletteHTTPException(404)
        with RunStore(self.run_path(run), create=False) as store:
            data = store.get(kind, key)
        if data is None:
            raise StarletteHTTPException(404)
        return data

    def new_run(self, prefix: str) -> str:
        name = f"{prefix}-{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(2)}"
        RunStore(self.root / name).close()
        return name

    # -- forms ----------------------------------------------------------------------------------
    def choice(
        self, model: str, engine: str, max_tokens: int | None, constrain: str = "auto"
    ) -> EngineChoice:
        """The engine a form asked for; ``base_url`` (and its key) is always the server's own."""
        if constrain not in CONSTRAIN_CHOICES:
            raise InputError(f"Constrain must be one of {', '.join(CONSTRAIN_CHOICES)}, got '{constrain}'.")
        defaults = self.defaults
        eng = None if engine in ("", "auto") else engine
        if eng is not None and eng not in self.engines:
            raise InputError(f"Unknown engine '{engine}'. Choose one of: {', '.join(self.engines)}.")
        if eng == "openai" and not defaults.base_url:
            raise InputError(
                "The openai engine needs a server URL: restart with `cycleresearcher serve --base-url URL` (the key comes from OPENAI_API_KEY)."
            )
        # None: each task's own default, the same as the CLI's (the embedded stand-in's tuned
        # budgets: a whole constrained paper, a whole review; upstream's limits for other models)
        # only an empty field is "no limit given": 0 or a negative number is refused, not
        # silently turned into the task's whole default budget
        tokens = defaults.max_tokens if max_tokens is None else max_tokens
        chosen_model = model.strip() or defaults.model
        if tokens is not None and not 1 <= tokens <= 100_000:
            raise InputError(f"Max new tokens must be between 1 and 100000, got {tokens}.")
        return EngineChoice(
            model=chosen_model,
            engine=eng or defaults.engine,
            base_url=defaults.base_url,
            api_key=defaults.api_key,
            max_tokens=tokens,
            constrain=CONSTRAIN_CHOICES[constrain],
        )


def site(request: Request) -> Site:
    return request.app.state.site


#: a route's parameter for the app's :class:`Site` (not a form field)
SiteDep = Annotated[Site, Depends(site)]


async def read_upload(upload: UploadFile | None, limit: int) -> bytes:
    if upload is None or not upload.filename:
        return b""
    data = await upload.read(limit + 1)  # no more: a bigger file is refused with its size
    return check_size(data, limit, f"file {safe_filename(upload.filename, 'upload')}", upload.size)


def submit_redirect(job_id: str) -> Response:
    return RedirectResponse(f"/jobs/{job_id}", status_code=303)


def record_kind(segment: str) -> str:
    """The record kind a URL segment names (``papers`` -> ``paper``); anything else is a 404."""
    kinds = {"papers": "paper", "documents": "document"}
    if segment not in kinds:
        raise StarletteHTTPException(404)
    return kinds[segment]


def list_runs(root: Path) -> list[dict[str, Any]]:
    """The runs under ``root`` (newest first, ``app.runfolder.list_runs``) that a URL can name."""
    return [run for run in runs_under(root) if is_safe_name(run["name"])]


__all__ = [
    "ENGINES",
    "MAX_N",
    "Site",
    "SiteDep",
    "list_runs",
    "read_upload",
    "record_kind",
    "site",
    "submit_redirect",
]
