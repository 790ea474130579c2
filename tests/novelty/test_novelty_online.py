"""`research novelty --online` against a loopback server speaking the real services' search formats
(Semantic Scholar ``/paper/search``, OpenAlex ``/works?search=`` with inverted-index abstracts,
arXiv Atom): the works it finds, a 429 that the retry absorbs, a service that stays down or times
out (a warning, the others still count), and the answer cache read offline afterwards."""

from __future__ import annotations

import json

import pytest
from novelty_corpus import WORKS, no_user_cache  # noqa: F401  (fixtures)
from typer.testing import CliRunner

from cycleresearcher.cli import app
from support.scholarly_server import Guard, Paper, ScholarlyServer

runner = CliRunner()
#: a bare idea short enough to go out whole as one search query (the server matches titles exactly)
IDEA = "Quantising the key-value cache of transformer decoders to four bits and evicting tokens with low attention"


@pytest.fixture()
def server(monkeypatch, tmp_path):
    for name in ("CYCLERESEARCHER_S2_API_KEY", "S2_API_KEY", "SEMANTIC_SCHOLAR_API_KEY",
                 "CYCLERESEARCHER_OPENALEX_API_KEY", "OPENALEX_API_KEY", "CYCLERESEARCHER_MAILTO"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CYCLERESEARCHER_SCHOLARLY_CACHE", str(tmp_path / "cache.sqlite"))
    monkeypatch.setenv("CYCLERESEARCHER_SCHOLARLY_TIMEOUT", "0.5")
    monkeypatch.setenv("CYCLERESEARCHER_SCHOLARLY_DEADLINE", "4")
    monkeypatch.setenv("CYCLERESEARCHER_SCHOLARLY_PACE", "0")
    papers = [
        Paper(IDEA, ["Ada Quinn"], 2023, WORKS["kvcache"][2], doi="10.5555/nov.1", arxiv="2301.00001",
              services=("semantic_scholar", "openalex", "arxiv")),
        Paper("Listening to coral reefs", ["Ben Ortiz"], 2021, WORKS["reef"][2], doi="10.5555/nov.2"),
    ]  # fmt: skip
    with Guard() as guard, ScholarlyServer(papers) as srv:
        for key, value in srv.env().items():
            monkeypatch.setenv(key, value)
        yield srv
    assert guard.refused == [], "the check reached for something other than the loopback server"


def novelty(*args: str) -> dict:
    result = runner.invoke(app, ["research", "novelty", "--idea", IDEA, "--lexical", "--json", *args])
    assert result.exit_code == 0, result.output
    [report] = json.loads(result.stdout)
    return report


def test_online_finds_the_close_work_in_every_service_format(server):
    report = novelty("--online")
    assert report["searched"] == {"online:semantic_scholar": 1, "online:openalex": 1, "online:arxiv": 1}
    assert report["works_searched"] == 1, "the same work from three services is compared once"
    assert report["close_prior_work"] is True
    top = report["matches"][0]["work"]
    assert top["title"] == IDEA and top["year"] == "2023" and top["abstract"] == WORKS["kvcache"][2]
    assert {r.service for r in server.requests} == {"semantic_scholar", "openalex", "arxiv"}
    assert all(r.client == "127.0.0.1" for r in server.requests)


def test_a_429_is_retried_and_a_service_that_stays_down_is_left_out(server):
    server.fail("semantic_scholar", 429, retry_after="0")  # one 429: the retry gets the answer
    for _ in range(8):  # OpenAlex answers 503 to every attempt: given up, said so
        server.fail("openalex", 503, retry_after="0")
    report = novelty("--online")
    assert "online:semantic_scholar" in report["searched"] and "online:openalex" not in report["searched"]
    assert any("online:openalex: search failed" in w for w in report["warnings"])
    assert report["close_prior_work"] is True
    assert sum(1 for r in server.requests if r.service == "semantic_scholar") == 2


def test_a_timeout_costs_a_warning_not_the_check(server):
    for _ in range(8):  # every attempt answers after the 0.5 s timeout
        server.fail("arxiv", delay=1.0)
    report = novelty("--online")
    assert "online:arxiv" not in report["searched"]
    assert any("online:arxiv: search failed" in w and "Timeout" in w for w in report["warnings"])
    assert report["verdict"].startswith("close prior work")


def test_offline_by_default_and_the_cache_is_read_afterwards(server):
    report = novelty()
    assert server.count() == 0, "nothing leaves the machine without --online"
    assert report["verdict"].startswith("no verdict: nothing was searched")
    novelty("--online")
    sent = server.count()
    again = novelty()  # offline: the answers cached by the online check are searched
    assert server.count() == sent
    assert again["searched"] == {"cache": 1} and again["close_prior_work"] is True
    assert novelty("--no-cache")["searched"] == {}
