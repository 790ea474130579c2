"""Enrichment against the loopback services: identifiers first, then strict title matches; an
ambiguous or wrong-year title is never filled; every filled field names its source; a rerun is
served from the cache; loading alone sends nothing."""

from __future__ import annotations

import pytest
from support.scholarly_data import BIB, EXPECTED, papers
from support.scholarly_server import ScholarlyServer

from cycleresearcher.references import load_references, render_references, to_bibtex
from cycleresearcher.references.enrich import add_field, enrich_references, identifiers
from cycleresearcher.scholarly import AnswerCache, ScholarlyConfig, open_services


@pytest.fixture
def server():
    with ScholarlyServer(papers()) as s:
        yield s


def run(server, cache_path, refs=None):
    cache = AnswerCache(cache_path)
    services = open_services(ScholarlyConfig(urls=server.urls(), pace=0.0), cache)
    try:
        return enrich_references(refs or load_references(BIB), services)
    finally:
        for s in services:
            s.close()
        cache.close()


def test_identifiers_come_from_doi_eprint_corr_volume_note_and_url():
    refs = {r.key: r for r in load_references(BIB)}
    assert identifiers(refs["mensah2018null"]) == [("doi", "10.5555/enr.2")]
    assert identifiers(refs["vogel2022eprints"]) == [("arxiv", "2203.01234")]
    assert identifiers(refs["DBLP:journals/corr/abs-1905-04321"]) == [("arxiv", "1905.04321")]
    assert identifiers(refs["kim2017medical"]) == [("pmid", "28000001")]
    assert identifiers(refs["bianchi2021titles"]) == []
    url = load_references("@article{u, title={T}, url={https://arxiv.org/abs/2301.00002v3}, journal={arXiv preprint arXiv:2301.00002}}\n")
    assert identifiers(url[0]) == [("arxiv", "2301.00002")]


def test_fills_every_identified_or_exactly_titled_entry_and_nothing_ambiguous(server, tmp_path):
    result = run(server, tmp_path / "c.sqlite")
    refs = {r.key: r for r in result.references}
    for key, abstract in EXPECTED.items():
        assert refs[key].abstract == abstract, key
    assert refs["has2020abstract"].abstract == "An abstract the user wrote."
    status = {e.key: e.status for e in result.entries}
    assert status["alves2020two"] == "ambiguous"
    assert status["novak2020title"] == "wrong_year"
    assert status["nobody2020"] == "not_found"
    assert status["has2020abstract"] == "has_abstract"
    assert (result.abstracts_before, result.abstracts_after) == (1, 8)
    # the listed works behind the verdicts, for the user to check by hand
    twins = next(e for e in result.entries if e.key == "alves2020two")
    assert sorted(c["year"] for c in twins.candidates) == [2020, 2021]
    assert not twins.filled and "doi" not in refs["alves2020two"].fields


def test_every_filled_field_names_its_service_work_and_way(server, tmp_path):
    result = run(server, tmp_path / "c.sqlite")
    by_key = {e.key: e for e in result.entries}
    mensah = {f.field: f for f in by_key["mensah2018null"].filled}
    assert (mensah["abstract"].service, mensah["abstract"].via) == ("openalex", "doi:10.5555/enr.2")
    assert by_key["mensah2018null"].services == ["semantic_scholar", "openalex"]
    title = {f.field: f for f in by_key["bianchi2021titles"].filled}
    assert title["abstract"].via == "title" and title["abstract"].service == "openalex"
    assert title["doi"].value == "10.5555/enr.7"
    assert title["booktitle"].value == "Conference on Exact Titles"  # an inproceedings' venue
    assert "year" not in title  # present fields are never replaced
    corr = {f.field: f for f in by_key["DBLP:journals/corr/abs-1905-04321"].filled}
    assert corr["doi"].service == "semantic_scholar" and corr["abstract"].service == "arxiv"
    report = result.to_dict()
    assert report["counts"] == {"found": 7, "ambiguous": 1, "wrong_year": 1, "not_found": 1, "has_abstract": 1}
    assert report["requests"]["semantic_scholar"] >= 1


def test_the_export_and_the_prompt_carry_the_filled_fields(server, tmp_path):
    result = run(server, tmp_path / "c.sqlite")
    bib = to_bibtex(result.references)
    again = {r.key: r for r in load_references(bib)}
    assert again["haddad2016publishers"].abstract == EXPECTED["haddad2016publishers"]
    assert again["bianchi2021titles"].fields["doi"] == "10.5555/enr.7"
    assert again["alves2020two"].abstract is None
    block = render_references(result.references)
    assert f"Abstract: {EXPECTED['kim2017medical']}\n@article{{kim2017medical," in block
    assert "abstract = {" not in block  # the abstract moved to its line, as in training
    # the input set is left as it was
    assert load_references(BIB)[0].abstract is None


def test_a_rerun_is_served_from_the_cache_with_zero_requests(server, tmp_path):
    first = run(server, tmp_path / "c.sqlite")
    sent = server.count()
    assert sent > 0
    second = run(server, tmp_path / "c.sqlite")
    assert server.count() == sent  # not one request
    assert sum(second.requests.values()) == 0
    assert [r.abstract for r in second.references] == [r.abstract for r in first.references]
    assert [e.status for e in second.entries] == [e.status for e in first.entries]


def test_a_failing_service_is_reported_and_the_others_still_fill(server, tmp_path):
    for _ in range(3):
        server.fail("crossref", 400)
    result = run(server, tmp_path / "c.sqlite")
    refs = {r.key: r for r in result.references}
    assert refs["haddad2016publishers"].abstract is None  # only Crossref knows it
    assert refs["mensah2018null"].abstract == EXPECTED["mensah2018null"]
    assert any("crossref" in e and "400" in e for e in result.errors)


def test_loading_and_rendering_send_nothing(server, loopback_only, monkeypatch):
    for var, url in server.env().items():
        monkeypatch.setenv(var, url)
    refs = load_references(BIB)
    render_references(refs)
    to_bibtex(refs)
    assert server.count() == 0 and loopback_only.refused == []


def test_add_field_keeps_the_entry_style():
    raw = "@article{k,\n    title = {T},\n    year = 2020\n}"
    assert add_field(raw, "doi", "10.1/x") == "@article{k,\n    title = {T},\n    year = 2020,\n    doi = {10.1/x}\n}"
    assert add_field("@misc{k}", "abstract", "A {b") == "@misc{k,\n  abstract = {A {b}}\n}"
