"""`evaluate papers` on one run through both shells: the CLI's papers.csv / papers.md and the web
API's JSON (`GET /api/runs/<run>/evaluate`) hold the same rows, fields and cells, with the same
options; a run with no review says to review first in both, and a run whose every request failed
says so in both. The judge (`evaluate winrate`) sends
the same requests from the CLI as from the use case called with its defaults."""

from __future__ import annotations

import csv
import json
import re
import sqlite3

import pytest

from cycleresearcher.store import RunStore
from support import FAKE_ENGINE
from support.replay import DEEPREVIEWER
from support.shells import cli, web


def _review_run(data_dir, runs):
    """A review run as `review -o` leaves it: two reviewed papers, a failed review, an unreviewed paper."""
    run = runs / "review-run"
    reviews = data_dir / "evaluation" / "reviews" / "strong"
    with RunStore(run) as store:
        for pid in ("p01", "p02", "p09"):
            store.put("paper", pid, {"id": pid, "title": f"Paper {pid}"})
        for pid in ("p01", "p02"):
            review = json.loads((reviews / f"{pid}.json").read_text())
            store.put("review", pid, {"paper_id": pid, "reviewer": "cyclereviewer", "review": review, "error": None})
        store.put("review", "p08", {"paper_id": "p08", "reviewer": "cyclereviewer", "review": None, "error": "timeout"})
    return run


def _cli_table(out):
    """papers.csv's rows and papers.md's table cells, as the CLI wrote them."""
    with open(out / "papers.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    lines = [ln for ln in (out / "papers.md").read_text().splitlines() if ln.startswith("| ")][1:]
    cells = [[c.replace("\\|", "|") for c in re.split(r" (?<!\\)\| ", ln[2:-2])] for ln in lines]
    return rows, cells


def _as_csv(rows):
    """The API's rows as the CSV holds them (an undefined value is an empty cell)."""
    return [{k: "" if v is None else str(v) for k, v in row.items()} for row in rows]


OPTIONS = [
    ([], {}),
    (["--accept-threshold", "7", "--ci", "--seed", "3"], {"accept_threshold": 7, "ci": True, "seed": 3}),
]


@pytest.mark.parametrize(("args", "params"), OPTIONS, ids=["defaults", "threshold-ci"])
def test_the_cli_and_the_web_api_give_the_same_table(data_dir, tmp_path, args, params):
    runs = tmp_path / "runs"
    run = _review_run(data_dir, runs)
    result = cli("evaluate", "papers", run, *args, "-o", tmp_path / "out")
    assert result.exit_code == 0, result.output
    rows, cells = _cli_table(tmp_path / "out")

    client = web(runs)
    response = client.get("/api/runs/review-run/evaluate", params=params)
    assert response.status_code == 200, response.text[:500]
    table = response.json()
    assert _as_csv(table["rows"]) == rows and len(rows) == 1
    assert table["cells"] == cells
    headers = next(ln for ln in (tmp_path / "out" / "papers.md").read_text().splitlines() if ln.startswith("| "))
    assert [c["header"] for c in table["columns"]] == headers[2:-2].split(" | ")
    assert table["notes"] and all(f"- {n}" in (tmp_path / "out" / "papers.md").read_text() for n in table["notes"])
    # the run's page shows the table of the defaults
    page = client.get("/runs/review-run").text
    shown = client.get("/api/runs/review-run/evaluate").json()["cells"][0]
    assert 'data-testid="quality"' in page and all(f"<td>{c}</td>" in page for c in shown)
    assert shown == cells[0] or params


def test_a_run_with_no_review_says_to_review_first_in_both(tmp_path):
    runs = tmp_path / "runs"
    with RunStore(runs / "research-run") as store:
        store.put("paper", "p1", {"title": "A paper", "latex": "\\section{Intro} text"})
    result = cli("evaluate", "papers", runs / "research-run", "-o", tmp_path / "out")
    assert result.exit_code == 2 and not (tmp_path / "out" / "papers.csv").exists()
    client = web(runs)
    response = client.get("/api/runs/research-run/evaluate")
    assert response.status_code == 400
    error = response.json()["error"]
    assert "no review" in error and "Review them first" in error
    assert " ".join(error.split()) in " ".join(result.output.split())
    page = client.get("/runs/research-run").text
    assert 'data-testid="quality"' not in page  # no table of undefined cells
    assert client.get("/api/runs/no-such-run/evaluate").json() == {"error": "no such run"}


def test_a_run_whose_every_request_failed_is_refused_alike_in_both(tmp_path):
    """No table of undefined cells and no 'failed parse': the failed request is named, with --resume."""
    runs = tmp_path / "runs"
    with RunStore(runs / "failrun") as store:
        error = "generation failed: ConnectError: [Errno 111] Connection refused"
        store.put("review", "p1", {"paper_id": "p1", "reviewer": "cyclereviewer", "review": None, "error": error})
    result = cli("evaluate", "papers", runs / "failrun", "-o", tmp_path / "out")
    assert result.exit_code == 2 and not (tmp_path / "out" / "papers.csv").exists()
    response = web(runs).get("/api/runs/failrun/evaluate")
    assert response.status_code == 400
    error = response.json()["error"]
    assert "1 paper(s) not reviewed (generation failed: ConnectError" in error and "--resume" in error
    assert " ".join(error.split()) in " ".join(result.output.split())


def test_a_replayed_review_run_gives_the_same_table(replay, fixtures_dir, tmp_path):
    """DeepReviewer's real Fast-mode reviews of two papers, through the loopback server."""
    runs = tmp_path / "runs"
    papers = [fixtures_dir / "detect" / f"human_paper_{i:03d}.txt" for i in (1, 2)]
    reviewed = cli(
        "review", *papers, "--reviewer", "deepreviewer", "--mode", "fast", "--engine", "openai",
        "--base-url", replay.url, "--model", DEEPREVIEWER, "-o", runs / "fast",
    )  # fmt: skip
    assert reviewed.exit_code == 0, reviewed.output
    result = cli("evaluate", "papers", runs / "fast", "--ci", "-o", tmp_path / "out")
    assert result.exit_code == 0, result.output
    rows, cells = _cli_table(tmp_path / "out")
    table = web(runs).get("/api/runs/fast/evaluate", params={"ci": True}).json()
    assert _as_csv(table["rows"]) == rows and table["cells"] == cells
    assert rows[0]["papers"] == "2" and rows[0]["avg_score"] != ""


def test_the_judge_gets_the_same_requests_from_the_cli_and_the_use_case(data_dir, tmp_path):
    from cycleresearcher.app.evaluate import WinrateRequest, judge_winrate
    from cycleresearcher.app.report import Collect
    from cycleresearcher.app.session import ModelChoice, Sessions

    ev = data_dir / "evaluation"
    answer = "Accuracy: A\nSpecificity: Tie\nConstructiveness: B\nOverall: A"
    result = cli("evaluate", "winrate", "--a", ev / "winrate/a", "--b", ev / "winrate/b", "--engine", FAKE_ENGINE,
                 "--engine-opt", f"script={answer}", "-o", tmp_path / "cli")  # fmt: skip
    assert result.exit_code == 0, result.output
    choice = ModelChoice(engine=FAKE_ENGINE, options={"script": answer})
    with Sessions() as sessions:
        judged = judge_winrate(
            WinrateRequest(ev / "winrate/a", ev / "winrate/b", out=tmp_path / "api"), choice, sessions, Collect()
        )
    assert not judged.failed

    def sent(folder):  # the judge's requests as stored: the messages and the sampling settings
        con = sqlite3.connect(folder / "run.sqlite")
        try:
            return sorted((k, json.loads(p)) for k, p in con.execute("SELECT key, payload FROM requests"))
        finally:
            con.close()

    assert sent(tmp_path / "cli") == sent(tmp_path / "api") and len(sent(tmp_path / "api")) == 3
    for name in ("winrate.csv", "judgements.jsonl"):
        assert (tmp_path / "cli" / name).read_text() == (tmp_path / "api" / name).read_text()
