"""Both shells on the same inputs: the CLI (typer's runner, in process) and the web API (the
FastAPI app under a test client), so a test can run one use case through each and compare what
they wrote (``tests/app/test_agree_*.py``). Nothing here is scripted: the engines are the ones a
user would get for the options given (a loopback replay server through ``--base-url``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

#: fields that differ between two runs of the same work: times, the run folder's own name
VOLATILE = {"elapsed_s", "created_at", "started_at", "finished_at", "timestamp", "time", "run", "run_dir"}


def cli(*args: str, env: dict[str, str] | None = None):
    """``cycleresearcher ARGS...`` in process; the result has ``exit_code`` and ``output``."""
    from cycleresearcher.cli import app

    return CliRunner().invoke(app, [str(a) for a in args], env=env, catch_exceptions=False)


def web(runs: Path, **create_app_kw: Any):
    """A test client of the page's app, sending the CSRF token as a script would."""
    from fastapi.testclient import TestClient

    from cycleresearcher.web.app import create_app

    app = create_app(runs, **create_app_kw)
    return TestClient(
        app, base_url="http://127.0.0.1", raise_server_exceptions=False, headers={"X-CSRF-Token": app.state.csrf_token}
    )


def wait(client, response, timeout: float = 120) -> dict:
    """Follow a job's redirect, wait for it, return the job's JSON (``state``, ``result_url``...)."""
    assert response.status_code == 303, response.text[:500]
    job_id = response.headers["location"].rsplit("/", 1)[1]
    client.app.state.runner.wait(job_id, timeout=timeout)
    return client.get(f"/api/jobs/{job_id}").json()


def steady(value: Any) -> Any:
    """``value`` with the volatile keys removed at every depth."""
    if isinstance(value, dict):
        return {k: steady(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [steady(v) for v in value]
    return value


def written(folder: Path, pattern: str = "**/*.json") -> dict[str, Any]:
    """The JSON files under ``folder`` matching ``pattern``, by relative path, volatile keys removed."""
    out = {}
    for p in sorted(folder.glob(pattern)):
        if p.is_file():
            out[str(p.relative_to(folder))] = steady(json.loads(p.read_text(encoding="utf-8")))
    return out


def files(folder: Path) -> set[str]:
    """Every file under ``folder`` but the run store's own and the lock, by relative path."""
    skip = {"run.sqlite", "run.sqlite-wal", "run.sqlite-shm", "run.lock"}
    return {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file() and p.name not in skip}
