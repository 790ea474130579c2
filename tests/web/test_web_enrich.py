"""The generate page's "fill missing abstracts online" checkbox: enrichment against the loopback
services only when ticked, its report in the run directory."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from cycleresearcher.web.app import create_app
from support.fake_engine import FakeEngine
from support.scholarly_server import Guard, Paper, ScholarlyServer

WEB = Path(__file__).parents[1] / "data" / "web"
ABSTRACT = "Placeholder abstract for the web page test: our own words."
BIB = b"@article{web2024,\n  title={A Web Test Paper},\n  author={Ilse, Rana},\n  year={2024},\n  doi={10.5555/web.1}\n}\n"


@pytest.fixture
def server(monkeypatch, tmp_path):
    monkeypatch.setenv("CYCLERESEARCHER_SCHOLARLY_CACHE", str(tmp_path / "cache.sqlite"))
    monkeypatch.setenv("CYCLERESEARCHER_SCHOLARLY_PACE", "0")
    with (
        Guard(),
        ScholarlyServer([Paper("A Web Test Paper", ["Rana Ilse"], 2024, ABSTRACT, doi="10.5555/web.1")]) as s,
    ):
        for var, url in s.env().items():
            monkeypatch.setenv(var, url)
        yield s


def _generate(tmp_path: Path, **form: str):
    engines: list[FakeEngine] = []

    def factory(choice, family):
        engines.append(FakeEngine((WEB / "generation.txt").read_text(), context_length=8192))
        return engines[-1]

    app = create_app(tmp_path / "runs", engine_factory=factory)
    client = TestClient(app, base_url="http://127.0.0.1", headers={"X-CSRF-Token": app.state.csrf_token})
    assert 'name="enrich"' in client.get("/").text
    files = {"bib": ("refs.bib", BIB, "application/x-bibtex")}
    resp = client.post(
        "/generate", data={"n": "1", "max_tokens": "64", **form}, files=files, follow_redirects=False
    )
    assert resp.status_code == 303, resp.text[:500]
    job_id = resp.headers["location"].rsplit("/", 1)[1]
    app.state.runner.wait(job_id, timeout=60)
    job = client.get(f"/api/jobs/{job_id}").json()
    assert job["state"] == "done", job
    return engines[0].calls[0].messages[1]["content"], tmp_path / "runs" / job["run"]


def test_the_checkbox_enriches_and_unticked_sends_nothing(server, tmp_path):
    prompt, run = _generate(tmp_path / "a")
    assert server.count() == 0 and ABSTRACT not in prompt
    prompt, run = _generate(tmp_path / "b", enrich="1")
    assert f"Abstract: {ABSTRACT}\n@article{{web2024," in prompt
    assert (run / "enrichment.json").is_file()
    assert server.count() >= 1
