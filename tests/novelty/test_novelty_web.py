"""The paper page's novelty button: a job checks the paper offline and the card shows the verdict
and the matrix (the app's real routes, job runner and run store)."""

from __future__ import annotations

from fastapi.testclient import TestClient
from novelty_corpus import CLOSE_IDEA, WORKS, no_user_cache  # noqa: F401  (fixtures)
from test_novelty_cli import make_run

from cycleresearcher.store import RunStore
from cycleresearcher.web.app import create_app


def test_the_button_checks_the_paper_and_the_card_shows_it(tmp_path, monkeypatch):
    import cycleresearcher.novelty.check as check

    monkeypatch.setattr(check.NoveltyChecker, "embedder", lambda self: None)  # lexical: no model load here
    run, pid = make_run(tmp_path, CLOSE_IDEA, ["kvcache", "reef", "speech"])
    app = create_app(tmp_path / "runs")
    client = TestClient(app, base_url="http://127.0.0.1", headers={"X-CSRF-Token": app.state.csrf_token})
    before = client.get(f"/runs/{run.name}/papers/{pid}")
    assert "Not checked yet." in before.text and 'id="novelty-button"' in before.text
    response = client.post(f"/runs/{run.name}/papers/{pid}/novelty", follow_redirects=False)
    assert response.status_code == 303, response.text[:300]
    job_id = response.headers["location"].rsplit("/", 1)[1]
    app.state.runner.wait(job_id, timeout=60)
    job = client.get(f"/api/jobs/{job_id}").json()
    assert job["state"] == "done", job
    assert job["result_url"] == f"/runs/{run.name}/papers/{pid}#novelty"
    page = client.get(f"/runs/{run.name}/papers/{pid}").text
    with RunStore(run, create=False) as store:
        verdict = store.get("novelty", pid)["verdict"]
    assert verdict.startswith("close prior work") and verdict.replace('"', "&#34;") in page
    assert WORKS["kvcache"][0] in page and "Not checked yet." not in page
    assert (run / "papers" / pid / "novelty.json").is_file()
    # an unknown paper is a 404, not a job
    assert client.post(f"/runs/{run.name}/papers/nope/novelty", follow_redirects=False).status_code == 404
