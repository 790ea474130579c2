"""The novelty check of a run's paper through both shells (`research novelty RUN` and the paper
page's button): the same record in the store, in the paper record's meta and in the paper's files.
The CLI checks first; the page's check of the same paper must write exactly what it wrote."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "novelty"))  # the novelty tests' corpus and run
from novelty_corpus import CLOSE_IDEA, no_user_cache  # noqa: E402, F401  (fixture)
from test_novelty_cli import make_run  # noqa: E402

from cycleresearcher.store import RunStore  # noqa: E402
from support.shells import cli, wait, web  # noqa: E402

FILES = ("novelty.json", "novelty.md", "paper.json", "paper.md")


def _written(run: Path, pid: str) -> dict:
    with RunStore(run, create=False) as store:
        stored = {"novelty": store.get("novelty", pid), "paper": store.get("paper", pid)}
    folder = run / "papers" / pid
    return stored | {n: (folder / n).read_text(encoding="utf-8") if (folder / n).exists() else None for n in FILES}


def test_the_cli_and_the_page_write_the_same_check(tmp_path, monkeypatch):
    import cycleresearcher.novelty.check as check

    monkeypatch.setattr(check.NoveltyChecker, "embedder", lambda self: None)  # lexical: no model load here
    run, pid = make_run(tmp_path, CLOSE_IDEA, ["kvcache", "reef", "speech"])
    client = web(run.parent)
    before = _written(run, pid)
    result = cli("research", "novelty", run.parent / run.name)
    assert result.exit_code == 0, result.output
    by_cli = _written(run, pid)
    assert by_cli != before and by_cli["novelty"]["close_prior_work"] is True
    job = wait(client, client.post(f"/runs/{run.name}/papers/{pid}/novelty", follow_redirects=False))
    assert job["state"] == "done", job
    assert _written(run, pid) == by_cli
    # the page's check asked for this paper only: an unknown one is a 404, not a job
    assert client.post(f"/runs/{run.name}/papers/nope/novelty", follow_redirects=False).status_code == 404


def test_the_use_case_checks_only_the_papers_asked_for(tmp_path, monkeypatch):
    import cycleresearcher.novelty.check as check
    from cycleresearcher.app.novelty import NoveltyRequest, check_novelty
    from cycleresearcher.app.report import Collect
    from cycleresearcher.errors import InputError

    monkeypatch.setattr(check.NoveltyChecker, "embedder", lambda self: None)
    run, pid = make_run(tmp_path, CLOSE_IDEA, ["kvcache", "reef"])
    report = Collect()
    result = check_novelty(NoveltyRequest(papers=[run], paper_ids=[pid]), report)
    assert [r.subject.label for r in result.reports] == [f"{run}#{pid}"] and report.done == 1
    with pytest.raises(InputError, match="No paper nope"):
        check_novelty(NoveltyRequest(papers=[run], paper_ids=["nope"]), Collect())
