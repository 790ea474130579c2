"""Each service client against a loopback server speaking the service's real format: batched ids
with ``null`` for unknown ones (S2), an ``abstract_inverted_index`` (OpenAlex), an Atom feed
(arXiv), a JATS abstract (Crossref); retries on 429 + Retry-After, 5xx and timeouts; the cache."""

from __future__ import annotations

import time

import pytest

from cycleresearcher.errors import ConfigError
from cycleresearcher.scholarly import AnswerCache, ScholarlyConfig, ServiceError, open_services
from cycleresearcher.scholarly.crossref import jats_to_text
from cycleresearcher.scholarly.openalex import abstract_from_index
from support.scholarly_server import Paper, ScholarlyServer, loopback_only  # noqa: F401  (autouse: loopback only)

ALPHA = Paper(
    "Gradient Routing in Sparse Loopback Networks", ["Mira Okonkwo", "Tal Ben-Ami"], 2021,
    "Placeholder abstract alpha: routing gradients through loopback networks, written for tests.",
    doi="10.5555/loop.0001", arxiv="2101.00001", pmid="30000001", venue="Journal of Loopback Studies",
)  # fmt: skip
BETA = Paper(
    "On the Calibration of Imaginary Classifiers", ["Jonas Lindqvist"], 2019,
    "Placeholder abstract beta: calibration & imaginary <classifiers>, our own words.",
    doi="10.5555/loop.0002", venue="Proceedings of the Test Workshop",
)  # fmt: skip


def open_all(server: ScholarlyServer, cache: AnswerCache, **config):
    cfg = ScholarlyConfig(urls=server.urls(), pace=0.0, **config)
    return {s.name: s for s in open_services(cfg, cache)}


@pytest.fixture
def server():
    with ScholarlyServer([ALPHA, BETA]) as s:
        yield s


@pytest.fixture
def cache(tmp_path):
    c = AnswerCache(tmp_path / "cache.sqlite")
    yield c
    c.close()


def test_semantic_scholar_batch_keeps_order_and_null_for_unknown_ids(server, cache):
    s2 = open_all(server, cache)["semantic_scholar"]
    idents = [
        ("doi", "10.5555/loop.0002"),
        ("doi", "10.5555/nowhere"),
        ("arxiv", "2101.00001"),
        ("pmid", "30000001"),
    ]
    found = s2.lookup(idents)
    assert found[("doi", "10.5555/nowhere")] is None
    assert found[("doi", "10.5555/loop.0002")].abstract == BETA.abstract
    assert found[("arxiv", "2101.00001")].title == ALPHA.title
    assert found[("pmid", "30000001")].doi == "10.5555/loop.0001"
    (req,) = server.requests  # one batch for all four
    assert req.method == "POST" and req.path.endswith("/paper/batch")
    assert req.body == {
        "ids": ["DOI:10.5555/loop.0002", "DOI:10.5555/nowhere", "ARXIV:2101.00001", "PMID:30000001"]
    }
    assert "abstract" in req.query["fields"][0]


def test_semantic_scholar_batches_at_most_500_ids(server, cache):
    s2 = open_all(server, cache)["semantic_scholar"]
    found = s2.lookup([("doi", f"10.5555/none.{i}") for i in range(501)] + [("doi", BETA.doi)])
    assert [len(r.body["ids"]) for r in server.requests] == [500, 2]
    assert found[("doi", BETA.doi)].title == BETA.title
    assert sum(w is None for w in found.values()) == 501


def test_openalex_rebuilds_the_inverted_index_and_filters_50_dois_a_request(server, cache):
    oa = open_all(server, cache)["openalex"]
    found = oa.lookup(
        [("doi", BETA.doi), ("doi", ALPHA.doi), *[("doi", f"10.5555/none.{i}") for i in range(60)]]
    )
    assert found[("doi", BETA.doi)].abstract == BETA.abstract  # word order and punctuation back
    assert found[("doi", ALPHA.doi)].authors == ALPHA.authors
    assert found[("doi", ALPHA.doi)].arxiv_id == "2101.00001"
    assert found[("doi", "10.5555/none.3")] is None
    filters = [r.query["filter"][0] for r in server.requests]
    assert len(filters) == 2 and filters[0].startswith("doi:10.5555/loop.0002|10.5555/loop.0001|")
    assert filters[0].count("|") == 49
    assert abstract_from_index({"b": [1], "a": [0, 2]}) == "a b a"


def test_arxiv_reads_the_atom_feed_by_id_and_by_title(server, cache):
    ax = open_all(server, cache)["arxiv"]
    found = ax.lookup([("arxiv", "2101.00001"), ("arxiv", "2101.99999"), ("doi", "10.1/x")])
    assert set(found) == {("arxiv", "2101.00001"), ("arxiv", "2101.99999")}  # DOIs are not its kind
    work = found[("arxiv", "2101.00001")]
    assert (work.abstract, work.year, work.doi, work.authors) == (
        ALPHA.abstract,
        2021,
        ALPHA.doi,
        ALPHA.authors,
    )
    assert found[("arxiv", "2101.99999")] is None
    assert server.requests[0].query["id_list"] == ["2101.00001,2101.99999"]
    hits = ax.search_title("Gradient routing in sparse loopback networks!", 5)
    assert [w.arxiv_id for w in hits] == ["2101.00001"]
    assert server.requests[-1].query["search_query"] == ['ti:"Gradient routing in sparse loopback networks"']


def test_crossref_strips_jats_and_a_404_is_a_cached_negative(server, cache):
    cr = open_all(server, cache)["crossref"]
    found = cr.lookup([("doi", BETA.doi), ("doi", "10.5555/nowhere")])
    assert found[("doi", BETA.doi)].abstract == BETA.abstract  # tags and entities gone, < & > back
    assert found[("doi", BETA.doi)].venue == BETA.venue
    assert found[("doi", "10.5555/nowhere")] is None
    assert jats_to_text("<jats:title>Abstract</jats:title><jats:p>A &amp; B</jats:p>") == "A & B"
    before = server.count()
    again = open_all(server, cache)["crossref"].lookup([("doi", "10.5555/nowhere"), ("doi", BETA.doi)])
    assert server.count() == before and again[("doi", "10.5555/nowhere")] is None


def test_every_client_searches_free_words(server, cache):
    """The surface the novelty check reuses: ``search(query, limit)`` on every service."""
    for name, service in open_all(server, cache).items():
        works = service.search("On the calibration of imaginary classifiers", limit=3)
        if name == "arxiv":
            assert works == []  # BETA is not on arXiv
        else:
            assert [w.title for w in works] == [BETA.title], name
            assert works[0].service == name and works[0].year == 2019


def test_a_429_is_retried_after_the_servers_retry_after(server, cache):
    server.fail("semantic_scholar", 429, retry_after="1")
    s2 = open_all(server, cache, deadline=30)["semantic_scholar"]
    found = s2.lookup([("doi", BETA.doi)])
    assert found[("doi", BETA.doi)].title == BETA.title
    first, second = server.requests
    assert second.at - first.at >= 0.9  # it waited the second the server asked for
    assert s2.sent == 2


def test_a_5xx_and_a_timeout_are_retried(server, cache):
    server.fail("openalex", 503)
    server.fail("openalex", 0, delay=1.5)  # past the client's 0.5 s timeout
    oa = open_all(server, cache, timeout=0.5, deadline=30)["openalex"]
    t0 = time.monotonic()
    found = oa.lookup([("doi", ALPHA.doi)])
    assert found[("doi", ALPHA.doi)].abstract == ALPHA.abstract
    assert oa.sent == 3 and server.count("openalex") == 3
    assert time.monotonic() - t0 < 15


def test_the_deadline_ends_a_service_that_keeps_refusing(server, cache):
    for _ in range(5):
        server.fail("crossref", 429, retry_after="30")
    cr = open_all(server, cache, deadline=5)["crossref"]
    t0 = time.monotonic()
    with pytest.raises(ServiceError, match="429"):
        cr.lookup([("doi", BETA.doi)])
    assert time.monotonic() - t0 < 5 and cr.sent == 1  # a 30 s wait would pass the deadline
    # a failure is not cached: the next run asks again
    server.faults.clear()
    assert open_all(server, cache)["crossref"].lookup([("doi", BETA.doi)])[("doi", BETA.doi)] is not None


def test_a_401_says_to_check_the_key(server, cache):
    server.fail("openalex", 401)
    with pytest.raises(ServiceError, match="API key"):
        open_all(server, cache)["openalex"].search("anything", 3)


def test_keys_and_contact_go_where_each_service_wants_them(server, cache):
    services = open_all(
        server, cache, s2_api_key="s2-secret", openalex_api_key="oa-secret", mailto="me@example.org"
    )
    services["openalex"].search("x", 1)
    services["crossref"].search("x", 1)
    oa, cr = server.requests
    assert oa.query["api_key"] == ["oa-secret"] and oa.query["mailto"] == ["me@example.org"]
    assert cr.query["mailto"] == ["me@example.org"] and "api_key" not in cr.query
    assert services["semantic_scholar"].transport.client.headers["x-api-key"] == "s2-secret"


def test_default_urls_are_the_real_services_and_the_guard_stops_them(monkeypatch, loopback_only, cache):  # noqa: F811
    """Without the URL overrides the clients aim at the real services; in tests the socket guard
    refuses them, so no test request can leave 127.0.0.1."""
    for var in (
        "CYCLERESEARCHER_S2_URL",
        "CYCLERESEARCHER_OPENALEX_URL",
        "CYCLERESEARCHER_ARXIV_URL",
        "CYCLERESEARCHER_CROSSREF_URL",
    ):
        monkeypatch.delenv(var, raising=False)
    cfg = ScholarlyConfig.from_env()
    assert cfg.urls["semantic_scholar"] == "https://api.semanticscholar.org/graph/v1"
    assert cfg.urls["arxiv"] == "http://export.arxiv.org/api"
    cfg.deadline, cfg.pace = 2.0, 0.0
    (s2,) = open_services(cfg, cache, services=("semantic_scholar",))
    with pytest.raises(ServiceError):
        s2.lookup([("doi", BETA.doi)])
    assert "api.semanticscholar.org" in loopback_only.refused


def test_an_unusable_cache_says_which_variable_to_set(tmp_path):
    (tmp_path / "file").write_text("not a folder")
    with pytest.raises(ConfigError, match="CYCLERESEARCHER_SCHOLARLY_CACHE"):
        AnswerCache(tmp_path / "file" / "cache.sqlite")
    (tmp_path / "damaged.sqlite").write_bytes(b"this is not an SQLite database" * 100)
    with pytest.raises(ConfigError, match="delete a damaged one"):
        AnswerCache(tmp_path / "damaged.sqlite")
