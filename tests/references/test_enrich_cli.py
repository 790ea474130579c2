"""``references enrich`` and ``research generate --enrich`` end to end against the loopback services."""

from __future__ import annotations

import json
import sqlite3

import pytest
from typer.testing import CliRunner

from cycleresearcher.cli import app
from cycleresearcher.references import load_references
from support.scholarly_data import BIB, EXPECTED, papers
from support.scholarly_server import ScholarlyServer, loopback_only  # noqa: F401  (autouse: loopback only)


@pytest.fixture
def server(monkeypatch):
    with ScholarlyServer(papers()) as s:
        for var, url in s.env().items():
            monkeypatch.setenv(var, url)
        monkeypatch.setenv("CYCLERESEARCHER_SCHOLARLY_PACE", "0")
        yield s


@pytest.fixture
def bib(tmp_path):
    path = tmp_path / "refs.bib"
    path.write_text(BIB, encoding="utf-8")
    return path


def test_references_enrich_writes_the_bib_the_report_and_the_summary(server, bib, tmp_path):
    out = tmp_path / "out" / "refs.enriched.bib"
    result = CliRunner().invoke(app, ["references", "enrich", str(bib), "-o", str(out)])
    assert result.exit_code == 0, result.output
    refs = {r.key: r for r in load_references(out)}
    for key, abstract in EXPECTED.items():
        assert refs[key].abstract == abstract, key
    report_path = tmp_path / "out" / "refs.enriched.enrich.json"
    assert f"report: {report_path}" in result.output
    report = json.loads(report_path.read_text())
    assert report["abstracts_before"] == 1 and report["abstracts_after"] == 8
    entry = next(e for e in report["entries"] if e["key"] == "kim2017medical")
    assert entry["filled"][0] == {
        "field": "abstract", "value": EXPECTED["kim2017medical"], "service": "openalex", "work": "W0005",
        "via": "pmid:28000001",
    }  # fmt: skip
    assert "ambiguous, left unfilled: alves2020two" in result.output
    assert "wrong year, left unfilled: novak2020title" in result.output
    assert "abstracts: 1 of 11 before, 8 of 11 after" in result.output
    # the table: which service identified the works and which gave each abstract
    assert "openalex 3, arxiv 2, semantic_scholar 1, crossref 1" in result.output
    sent = server.count()

    again = CliRunner().invoke(app, ["references", "enrich", str(bib), "-o", str(out)])
    assert again.exit_code == 0, again.output
    assert server.count() == sent
    assert "requests sent: semantic_scholar 0, openalex 0, arxiv 0, crossref 0" in again.output


def test_references_enrich_exits_3_when_no_service_answered(server, bib, tmp_path):
    for name in ("semantic_scholar", "openalex", "arxiv", "crossref"):
        server.fail(name, 400)
    out = tmp_path / "refs.enriched.bib"
    result = CliRunner().invoke(app, ["references", "enrich", str(bib), "-o", str(out)])
    assert result.exit_code == 3, result.output
    assert "no service answered: rerun later" in result.output and out.exists()


def _prompts(run_dir) -> str:
    with sqlite3.connect(run_dir / "run.sqlite") as db:
        return "\n".join(row[0] for row in db.execute("SELECT payload FROM requests"))


def test_research_generate_enriches_only_when_asked(server, bib, tmp_path):
    args = [
        "research",
        "generate",
        str(bib),
        "--engine",
        "support.fake_engine:FakeEngine",
        "--no-pdf",
        "--max-tokens",
        "16",
    ]
    plain = CliRunner().invoke(app, [*args, "-o", str(tmp_path / "plain")])
    assert plain.exit_code in (0, 3), (
        plain.output
    )  # the scripted engine writes no paper: a failure is fine here
    assert server.count() == 0  # offline unless asked
    assert EXPECTED["kim2017medical"] not in _prompts(tmp_path / "plain")

    enriched = CliRunner().invoke(app, [*args, "--enrich", "-o", str(tmp_path / "enriched")])
    assert enriched.exit_code in (0, 3), enriched.output
    assert server.count() > 0
    prompts = _prompts(tmp_path / "enriched")
    assert json.dumps(f"Abstract: {EXPECTED['kim2017medical']}")[1:-1] in prompts
    report = json.loads((tmp_path / "enriched" / "enrichment.json").read_text())
    assert report["abstracts_after"] == 8
