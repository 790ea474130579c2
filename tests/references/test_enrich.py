"""Enrichment against the loopback services: identifiers first, then strict title matches; an
ambiguous or wrong-year title is never filled; every filled field names its source; a rerun is
served from the cache; loading alone sends nothing."""

from __future__ import annotations

import pytest

from cycleresearcher.references import load_references, render_references, to_bibtex
from cycleresearcher.references.enrich import (
    add_field,
    enrich_references,
    entry_year,
    first_author,
    identifiers,
)
from cycleresearcher.scholarly import AnswerCache, ScholarlyConfig, open_services
from support.scholarly_data import BIB, EXPECTED, papers
from support.scholarly_server import ScholarlyServer, loopback_only  # noqa: F401  (autouse: loopback only)


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
    url = load_references(
        "@article{u, title={T}, url={https://arxiv.org/abs/2301.00002v3}, journal={arXiv preprint arXiv:2301.00002}}\n"
    )
    assert identifiers(url[0]) == [("arxiv", "2301.00002")]
    pubmed = load_references("@article{pmid27000001, title={T}, author={A, B}, year={2016}}\n")
    assert identifiers(pubmed[0]) == [("pmid", "27000001")]
    mendeley = load_references("@article{m, title={T}, arxivId={1706.03762}, doi={10.1000/XYZ}}\n")
    assert identifiers(mendeley[0]) == [("doi", "10.1000/xyz"), ("arxiv", "1706.03762")]
    # a pmid field is bookkeeping to the prompt and the export, an identifier to enrichment
    field = load_references("@article{k, title={T}, author={A, B}, year={2016}, pmid={27000002}}\n")
    assert identifiers(field[0]) == [("pmid", "27000002")]
    assert "27000002" not in render_references(field) and "27000002" not in to_bibtex(field)


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
    assert report["counts"] == {
        "found": 7,
        "ambiguous": 1,
        "wrong_year": 1,
        "not_found": 1,
        "unanswered": 0,
        "has_abstract": 1,
    }
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
    # a service that failed for good is not asked again (an offline run would retry every entry)
    assert server.count("crossref") == 1 and "crossref is not asked again in this run" in result.errors


def test_entries_no_service_could_answer_are_unanswered_not_not_found(server, tmp_path):
    """Offline (every service refusing), no entry is "not found": nobody said the work is unknown.
    They are ``unanswered``, and a later run, with the services back, fills them (nothing negative
    was cached for them)."""
    for name in ("semantic_scholar", "openalex", "arxiv", "crossref"):
        server.fail(name, 400)
    down = run(server, tmp_path / "c.sqlite")
    counts = down.counts()
    assert counts["not_found"] == 0 and counts["found"] == 0
    assert counts["unanswered"] == len(down.entries) - counts["has_abstract"] > 0
    assert any("unanswered" in line and "rerun later" in line for line in down.summary_lines())
    back = run(server, tmp_path / "c.sqlite")
    refs = {r.key: r for r in back.references}
    assert all(refs[key].abstract == abstract for key, abstract in EXPECTED.items())
    assert back.counts()["unanswered"] == 0


def test_loading_and_rendering_send_nothing(server, loopback_only, monkeypatch):  # noqa: F811 (the fixture)
    for var, url in server.env().items():
        monkeypatch.setenv(var, url)
    refs = load_references(BIB)
    render_references(refs)
    to_bibtex(refs)
    assert server.count() == 0 and loopback_only.refused == []


def test_first_author_and_year_as_bibtex_reads_them():
    (ref,) = load_references(
        "@article{k, title={T}, Author={Barros, S.R.M. AND Garcia, C.I.}, YEAR={2007}}\n"
    )
    assert (first_author(ref), entry_year(ref)) == ("Barros, S.R.M.", 2007)


def test_add_field_keeps_the_entry_style():
    raw = "@article{k,\n    title = {T},\n    year = 2020\n}"
    assert (
        add_field(raw, "doi", "10.1/x")
        == "@article{k,\n    title = {T},\n    year = 2020,\n    doi = {10.1/x}\n}"
    )
    assert add_field("@misc{k}", "abstract", "A {b") == "@misc{k,\n  abstract = {A {b}}\n}"


def test_identifiers_only_sends_no_title_search(server, tmp_path):
    cache = AnswerCache(tmp_path / "c.sqlite")
    services = open_services(ScholarlyConfig(urls=server.urls(), pace=0.0), cache)
    result = enrich_references(load_references(BIB), services, titles=False)
    refs = {r.key: r for r in result.references}
    assert refs["kim2017medical"].abstract == EXPECTED["kim2017medical"]
    assert refs["bianchi2021titles"].abstract is None  # findable by title only
    assert not any(
        "search" in r.path or "search" in str(r.query) or "query." in str(r.query) for r in server.requests
    )
    assert all(
        r.method == "POST" or "id_list" in r.query or "filter" in r.query or "/works/" in r.path
        for r in server.requests
    )
