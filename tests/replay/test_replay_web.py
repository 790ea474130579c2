"""The web page end to end against the replay server (``cycleresearcher serve --base-url``): the
default engine factory builds a real OpenAI engine, the forms go through FastAPI's TestClient, and
the tests check what the page shows of the released models' real outputs and what the server
received (upstream token limits for released model names, never the stand-in's 256)."""

from __future__ import annotations

import json
import re

import pytest
from fastapi.testclient import TestClient

from cycleresearcher.store import RunStore
from cycleresearcher.web.app import create_app
from support.replay import (
    CYCLEREVIEWER,
    DEEPREVIEWER,
    RESEARCHER,
    conversation,
    fenced,
    references_file,
    title_of,
)

GRAMMAR_KEYS = {"grammar", "structured_outputs", "guided_grammar", "ebnf"}


@pytest.fixture
def client(replay, tmp_path):
    app = create_app(tmp_path / "runs", base_url=replay.url)  # as `cycleresearcher serve --base-url`
    headers = {"X-CSRF-Token": app.state.csrf_token}  # a script's client sends the token
    with TestClient(app, base_url="http://127.0.0.1", raise_server_exceptions=False, headers=headers) as c:
        yield c


def wait(client, response) -> dict:
    assert response.status_code == 303, response.text[:500]
    job_id = response.headers["location"].rsplit("/", 1)[1]
    client.app.state.runner.wait(job_id, timeout=120)
    job = client.get(f"/api/jobs/{job_id}").json()
    assert job["state"] == "done", job
    return job


def generate(client, refs, **form) -> dict:
    data = {"n": "1", "model": RESEARCHER, "max_tokens": "", **form}
    files = {"bib": (refs.name, refs.read_bytes(), "application/x-bibtex")}
    return wait(client, client.post("/generate", data=data, files=files, follow_redirects=False))


def review(client, url, **form) -> dict:
    return wait(client, client.post(url, data={"max_tokens": "", **form}, follow_redirects=False))


def cells(*values) -> str:
    return "".join(f"<td>{v}</td>" for v in values)


def test_generated_paper_and_its_cyclereviewer_review_on_the_page(client, replay, fixtures_dir, tmp_path):
    msgs = conversation(fixtures_dir, 1)
    title = title_of(fenced(msgs[2]["content"], "latex"))
    job = generate(client, references_file(fixtures_dir, 1, tmp_path))
    run, pid = job["run"], job["result_url"].rsplit("/", 1)[1]

    [req] = replay.chats("research")
    assert req.body["model"] == RESEARCHER and req.body["max_tokens"] == 19000  # not 256
    assert req.body["ignore_eos"] is True and not GRAMMAR_KEYS & set(req.body)
    assert req.body["messages"][0] == msgs[0]

    page = client.get(job["result_url"]).text
    assert f'<h1 data-testid="paper-title">{title}</h1>' in page
    assert 'data-testid="simulated-banner"' in page
    assert "Self-assessed interestingness 8, feasibility 9, novelty 7" in page
    assert "<h2>Experiment plan</h2>" in page and "<h3>Ablation Study of Target Identification</h3>" in page
    assert "<th>Method</th><th>Acc.</th><th>P</th><th>R</th><th>F1</th>" in page
    assert cells("Multi-view CLIP", "84.31", "79.66", "85.34", "82.40") in page
    figures = re.findall(rf'<img src="(/runs/{run}/papers/{pid}/figures/[^"]+\.png)"', page)
    assert figures
    got = client.get(figures[0])
    assert got.status_code == 200 and got.headers["content-type"] == "image/png" and len(got.content) > 5000
    assert client.get(f"/runs/{run}/papers/{pid}/paper.json").json()["title"] == title

    rev = review(client, f"/runs/{run}/papers/{pid}/review", reviewer="cyclereviewer", model=CYCLEREVIEWER)
    [rreq] = replay.chats("cyclereviewer")
    assert rreq.body["model"] == CYCLEREVIEWER and rreq.body["max_tokens"] == 7000  # not 256
    assert title in rreq.body["messages"][1]["content"]
    page = client.get(rev["result_url"]).text
    assert 'data-testid="decision">Accept</strong>' in page
    assert "rating avg 6.75 / min 3 / max 10 over 4 reviewer(s)" in page
    assert "<tr><td>3</td>" + cells(10, 4, 4, 4, 4) + "</tr>" in page  # the third reviewer's 10
    # CycleReviewer's record holds the mean over its reviewers: shown as such, not as a "final" review
    assert "<td>mean</td>" + cells(6.75, 3, 3.25, 3, 3.5) + "</tr>" in page and '<tr class="final"' in page
    assert "reviewers agree that the paper addresses a hard and relevant task" in page
    assert "Accept" in client.get(job["result_url"]).text  # the paper page shows its review too
    with RunStore(tmp_path / "runs" / run, create=False) as store:
        stored = store.get("review", pid)
    assert [op["rating"] for op in stored["review"]["reviewers"]] == [6, 8, 10, 3]


@pytest.mark.parametrize(
    ("reviewer", "mode", "kind", "model"),
    [
        ("cyclereviewer", "fast", "cyclereviewer", CYCLEREVIEWER),
        ("deepreviewer", "fast", "deepreviewer-fast", DEEPREVIEWER),
    ],
)
def test_review_with_the_model_field_left_empty_goes_to_a_reviewer_model(
    client, replay, fixtures_dir, reviewer, mode, kind, model
):
    """The server lists the researcher first: an empty Model field once sent the review to it and
    the page read "CycleReviewer · model ...CycleResearcher-ML-12B"."""
    assert next(iter(replay.models)) == RESEARCHER
    paper = fixtures_dir / "detect" / "human_paper_001.txt"
    files = {"paper": ("maskcomp.txt", paper.read_bytes(), "text/plain")}
    form = {"reviewer": reviewer, "review_mode": mode, "model": "", "max_tokens": ""}
    job = wait(client, client.post("/review-upload", files=files, data=form, follow_redirects=False))
    [req] = replay.chats(kind)
    assert req.body["model"] == model
    page = client.get(job["result_url"]).text
    assert f"model {model}" in page and RESEARCHER not in page


@pytest.mark.parametrize(
    ("mode", "kind", "decision", "line", "final"),
    [
        ("fast", "deepreviewer-fast", "Accept", "final rating 6.5 (no per-reviewer ratings)", (6.5, 3.25, 3.25, 3, 3.75)),
        ("standard", "deepreviewer-standard", "Accept", "rating avg 5.75 / min 5 / max 6 over 4 reviewer(s)", (5.75, 2.75, 2.75, 2.75, 4)),
    ],
)  # fmt: skip
def test_uploaded_paper_reviewed_by_deepreviewer(
    client, replay, fixtures_dir, mode, kind, decision, line, final
):
    paper = fixtures_dir / "detect" / "human_paper_001.txt"
    files = {"paper": ("maskcomp.txt", paper.read_bytes(), "text/plain")}
    form = {"reviewer": "deepreviewer", "review_mode": mode, "model": DEEPREVIEWER, "max_tokens": ""}
    job = wait(client, client.post("/review-upload", files=files, data=form, follow_redirects=False))
    [req] = replay.chats(kind)
    assert req.replayed == (kind, 1) and req.body["max_tokens"] == 35000  # not 256
    page = client.get(job["result_url"]).text
    assert '<h1 data-testid="page-heading">Review: Completing Visual Objects via Bridging Generation and Segmentation</h1>' in page
    assert f'data-testid="decision">{decision}</strong>' in page and line in page
    assert f"DeepReviewer ({mode} mode) · model {DEEPREVIEWER}" in page
    assert "<td>final</td>" + cells(*final) + "</tr>" in page
    if mode == "standard":
        for n, rating in enumerate([5, 6, 6, 6], 1):
            assert f"<tr><td>{n}</td><td>{rating}</td>" in page


@pytest.mark.slow  # Best mode on the page retrieves offline: loads the MiniLM embedding model
def test_uploaded_paper_reviewed_in_best_mode(client, replay, fixtures_dir):
    paper = fixtures_dir / "detect" / "human_paper_002.txt"
    files = {"paper": ("dino.txt", paper.read_bytes(), "text/plain")}
    form = {"reviewer": "deepreviewer", "review_mode": "best", "model": DEEPREVIEWER, "max_tokens": ""}
    job = wait(client, client.post("/review-upload", files=files, data=form, follow_redirects=False))
    [turn1], [turn2] = replay.chats("deepreviewer-best1"), replay.chats("deepreviewer-best2")
    assert turn1.body["max_tokens"] == turn2.body["max_tokens"] == 35000
    assert turn2.body["messages"][3]["content"].count("## Question ") == 3
    page = client.get(job["result_url"]).text
    assert 'data-testid="decision">Reject</strong>' in page
    assert "rating avg 4.5 / min 3 / max 5 over 4 reviewer(s)" in page


def test_two_stage_paper_completed_with_real_results_on_the_page(client, replay, fixtures_dir, tmp_path):
    msgs = conversation(fixtures_dir, 1)
    job = generate(client, references_file(fixtures_dir, 1, tmp_path), mode="two-stage")
    url = job["result_url"]
    [req] = replay.chats("research")
    assert req.body["stop"][-1] == "## Experimental_results" and req.body["max_tokens"] == 19000
    page = client.get(url).text
    assert 'data-testid="awaiting-banner"' in page and "Write the results section" in page

    results = {"results": ("results.json", fenced(msgs[3]["content"], "json").encode(), "application/json")}
    wait(
        client, client.post(url + "/complete", files=results, data={"max_tokens": ""}, follow_redirects=False)
    )
    [turn] = replay.chats("research-turn5")
    assert turn.body["messages"][3]["content"] == msgs[3]["content"]  # byte for byte
    assert turn.body["max_tokens"] == 19000
    page = client.get(url).text
    assert 'data-testid="real-banner"' in page and "Results simulated" not in page
    assert cells("CofiPara-Msd", "85.70", "85.96", "85.55", "85.89") in page  # the user's LaTeX, rendered
    paper = client.get(url + "/paper.json").json()
    assert paper["results_simulated"] is False and json.dumps(paper).count("85.89") >= 1
