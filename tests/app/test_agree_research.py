"""`research generate` / `research complete` through the CLI and through the web API on the same
.bib and results, against the loopback server replaying the 12B model's real outputs: the same
paper.json, the same files, the same store meta and the same request bodies (max tokens, stops,
n, model...). Both shells are left at their defaults (no model named, a server given), so the
defaults must agree by construction: the page once sent 256 new tokens where the CLI sent 19,000,
and a `research complete` with no --base-url (the "Next:" line as printed) went to the hub."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cycleresearcher.store import RunStore
from support.replay import RESEARCHER, conversation, fenced, references_file
from support.shells import cli, files, steady, wait, web, written

#: the web run's own files: the upload it keeps, and nothing else a CLI run has not
WEB_ONLY = {"uploads"}


def _bodies(replay, kind: str) -> list[dict]:
    return [r.body for r in replay.chats(kind)]


def _meta(run: Path) -> dict:
    with RunStore(run, create=False) as store:
        return {k: store.get_meta(k) for k in ("command", "settings")}


def _paper_files(run: Path) -> set[str]:
    return {f for f in files(run) if f.split("/")[0] not in WEB_ONLY}


@pytest.fixture
def refs(fixtures_dir, tmp_path, monkeypatch) -> Path:
    """Record 1's references as a user's .bib, named as the page names an upload (the paper's
    ``source``): the CLI runs in its folder and is given the bare name."""
    path = references_file(fixtures_dir, 1, tmp_path / "in")
    monkeypatch.chdir(path.parent)
    return path


def _cli_generate(replay, refs: Path, run: Path, *extra: str):
    result = cli("research", "generate", refs.name, "--base-url", replay.url, "--no-pdf", "-o", run, *extra)
    assert result.exit_code == 0, result.output
    return result


def _web_generate(client, refs: Path, **form) -> tuple[Path, dict]:
    data = {"n": "1", "model": "", "max_tokens": "", **form}
    files_ = {"bib": (refs.name, refs.read_bytes(), "application/x-bibtex")}
    job = wait(client, client.post("/generate", data=data, files=files_, follow_redirects=False))
    assert job["state"] == "done", job
    return client.app.state.runner.runs_dir / job["run"], job


def _same_runs(cli_run: Path, web_run: Path) -> None:
    assert written(cli_run / "papers") == written(web_run / "papers")
    assert _paper_files(cli_run) == _paper_files(web_run)
    assert _meta(cli_run) == _meta(web_run) and _meta(cli_run)["command"] == "research generate"


@pytest.mark.parametrize("mode", ["simulate", "two-stage"])
def test_generate_writes_the_same_through_both_shells(replay, refs, tmp_path, mode):
    extra = ("--two-stage",) if mode == "two-stage" else ()
    _cli_generate(replay, refs, tmp_path / "cli", *extra)
    cli_bodies = _bodies(replay, "research")
    replay.reset()
    with web(tmp_path / "runs", base_url=replay.url) as client:
        web_run, _ = _web_generate(client, refs, mode=mode)
    web_bodies = _bodies(replay, "research")

    assert len(cli_bodies) == len(web_bodies) == 1
    assert cli_bodies == web_bodies  # every field: model, max_tokens, stop, n, sampling, messages
    assert cli_bodies[0]["model"] == RESEARCHER and cli_bodies[0]["max_tokens"] == 19000
    _same_runs(tmp_path / "cli", web_run)
    [paper] = written(web_run / "papers").values()
    assert paper["meta"]["stage"] == ("awaiting_results" if mode == "two-stage" else "complete")


def test_complete_writes_the_same_through_both_shells(replay, refs, fixtures_dir, tmp_path):
    """The CLI's `complete` names no server (as the "Next:" line prints it): it must reach the
    run's server and model; the page's form, the model field left empty, the same."""
    results = tmp_path / "results.json"
    results.write_text(fenced(conversation(fixtures_dir, 1)[3]["content"], "json"), encoding="utf-8")
    cli_run = tmp_path / "cli"
    first = _cli_generate(replay, refs, cli_run, "--two-stage")
    assert f"research complete {cli_run} --results" in first.output.replace("\n", "")
    done = cli("research", "complete", cli_run, "--results", results, "--no-pdf")
    assert done.exit_code == 0, done.output
    cli_turn5 = _bodies(replay, "research-turn5")
    with RunStore(cli_run, create=False) as store:
        turn5_tokens = store.summary()["complete"]["completion_tokens"]
    assert f"+ {turn5_tokens} generated tokens" in done.output  # this stage's tokens only
    replay.reset()

    with web(tmp_path / "runs", base_url=replay.url) as client:
        web_run, job = _web_generate(client, refs, mode="two-stage")
        form = {"model": "", "max_tokens": ""}
        upload = {"results": ("results.json", results.read_bytes(), "application/json")}
        url = job["result_url"] + "/complete"
        finished = wait(client, client.post(url, files=upload, data=form, follow_redirects=False))
        assert finished["state"] == "done", finished
        web_turn5 = _bodies(replay, "research-turn5")

        assert len(cli_turn5) == len(web_turn5) == 1
        assert cli_turn5 == web_turn5 and cli_turn5[0]["model"] == RESEARCHER
        assert cli_turn5[0]["max_tokens"] == 19000
        _same_runs(cli_run, web_run)
        [paper] = written(web_run / "papers").values()
        assert paper["meta"]["stage"] == "complete" and paper["results_simulated"] is False

        # the same results again, no redo asked: both refuse, neither calls the model
        again = cli("research", "complete", cli_run, "--results", results, "--no-pdf")
        assert again.exit_code == 2 and "No paper awaiting results" in again.output
        refused = wait(client, client.post(url, files=upload, data=form, follow_redirects=False))
        assert refused["state"] == "failed" and "No paper awaiting results" in refused["error"]
        assert len(_bodies(replay, "research-turn5")) == 1
    _same_runs(cli_run, web_run)


def test_the_web_run_records_what_the_cli_run_records(replay, refs, tmp_path):
    """The records of the store (not only the exports): the paper record and its reference set."""
    _cli_generate(replay, refs, tmp_path / "cli")
    with web(tmp_path / "runs", base_url=replay.url) as client:
        web_run, _ = _web_generate(client, refs)

    def records(run: Path) -> dict:
        with RunStore(run, create=False) as store:
            return {k: steady(dict(store.items(k))) for k in ("paper", "reference_set")}

    got_cli, got_web = records(tmp_path / "cli"), records(web_run)
    assert got_cli == got_web and len(got_cli["paper"]) == 1
    assert json.dumps(got_cli).count(RESEARCHER) >= 1


def _payloads(run: Path) -> list[dict]:
    import sqlite3

    conn = sqlite3.connect(run / "run.sqlite")
    try:
        rows = conn.execute("SELECT payload FROM requests WHERE stage = 'research' ORDER BY key").fetchall()
    finally:
        conn.close()
    return [json.loads(p) for (p,) in rows]


@pytest.mark.slow
def test_the_embedded_default_sends_the_same_request_through_both_shells(bib, tmp_path, monkeypatch):
    """No model, no server, no max tokens: the embedded stand-in, as a new user starts. The page
    once gave it 256 new tokens (a paper titled "title", cut in its Introduction) where the CLI
    gave the budget of a whole constrained paper. The requests each run stored must be the same
    (no seed on the page, so the texts differ; the prompts and sampling must not)."""
    monkeypatch.chdir(bib.parent)
    result = cli("research", "generate", bib.name, "--no-pdf", "-o", tmp_path / "cli")
    assert result.exit_code == 0, result.output
    with web(tmp_path / "runs") as client:
        web_run, _ = _web_generate(client, bib)
    [cli_request], [web_request] = _payloads(tmp_path / "cli"), _payloads(web_run)
    assert cli_request == web_request
    assert cli_request["sampling"]["max_tokens"] > 256
    assert _meta(tmp_path / "cli") == _meta(web_run)
