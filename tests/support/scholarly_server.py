"""A loopback server speaking the four scholarly services' real response formats, for enrichment
tests and the real-bibliography benchmark. Every abstract it serves is our own placeholder text.

Paths (point the ``CYCLERESEARCHER_*_URL`` variables at ``urls()``):

* ``/s2/graph/v1``: ``POST /paper/batch?fields=...`` ``{"ids": [...]}`` -> a list in the ids' order,
  ``null`` for an unknown id; ``GET /paper/search?query=&limit=`` -> ``{"total", "offset", "data"}``.
* ``/openalex``: ``GET /works?filter=doi:a|b`` (or ``pmid:``) and ``GET /works?search=`` ->
  ``{"meta": {...}, "results": [work]}`` with ``abstract_inverted_index``.
* ``/arxiv/api``: ``GET /query?id_list=`` or ``?search_query=ti:"..."`` -> an Atom feed.
* ``/crossref``: ``GET /works/{doi}`` -> ``{"status": "ok", "message-type": "work", "message"}``
  with a JATS abstract (404 ``Resource not found.`` for an unknown DOI); ``GET
  /works?query.bibliographic=`` -> ``{"message": {"items": [...]}}``.

Each ``Paper`` says which services know it and which of them hold its abstract. Searches match
the normalised title exactly (a real service ranks more loosely; the client's rule is what is
tested). ``fail(service, ...)`` queues faults (a status with ``Retry-After``, or a delay past the
client's timeout) answered to the next requests of that service. ``requests`` records every request
with its client address.
"""

from __future__ import annotations

import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit
from xml.sax.saxutils import escape

import pytest

SERVICES = ("semantic_scholar", "openalex", "arxiv", "crossref")
PREFIX = {
    "semantic_scholar": "/s2/graph/v1",
    "openalex": "/openalex",
    "arxiv": "/arxiv/api",
    "crossref": "/crossref",
}
ENV = {
    "semantic_scholar": "CYCLERESEARCHER_S2_URL",
    "openalex": "CYCLERESEARCHER_OPENALEX_URL",
    "arxiv": "CYCLERESEARCHER_ARXIV_URL",
    "crossref": "CYCLERESEARCHER_CROSSREF_URL",
}


def norm(title: str) -> str:
    return " ".join(re.sub(r"[^0-9a-z]+", " ", title.lower()).split())


@dataclass
class Paper:
    title: str
    authors: list[str]  # "First Last"
    year: int
    abstract: str
    doi: str | None = None
    arxiv: str | None = None
    pmid: str | None = None
    venue: str = ""
    #: services that know the paper
    services: tuple[str, ...] = SERVICES
    #: services that hold its abstract (S2 serves ``null``, OpenAlex no index, Crossref none)
    abstract_in: tuple[str, ...] = SERVICES
    ident: str = ""

    def abstract_for(self, service: str) -> str | None:
        return self.abstract if service in self.abstract_in else None


@dataclass
class Fault:
    status: int = 0
    retry_after: str | None = None
    delay: float = 0.0


@dataclass
class Seen:
    service: str
    method: str
    path: str
    query: dict[str, list[str]]
    body: Any
    client: str
    at: float


@dataclass
class ScholarlyServer:
    papers: list[Paper] = field(default_factory=list)
    requests: list[Seen] = field(default_factory=list)
    faults: dict[str, list[Fault]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for n, p in enumerate(self.papers):
            p.ident = p.ident or f"{n + 1:04d}"
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None

    # -- control ---------------------------------------------------------------------------------
    def add(self, paper: Paper) -> Paper:
        paper.ident = paper.ident or f"{len(self.papers) + 1:04d}"
        self.papers.append(paper)
        return paper

    def fail(self, service: str, status: int = 0, retry_after: str | None = None, delay: float = 0.0) -> None:
        self.faults.setdefault(service, []).append(Fault(status, retry_after, delay))

    def count(self, service: str | None = None) -> int:
        return sum(1 for r in self.requests if service in (None, r.service))

    def urls(self) -> dict[str, str]:
        assert self._httpd is not None, "start the server first"
        host, port = self._httpd.server_address[:2]
        return {s: f"http://{host}:{port}{PREFIX[s]}" for s in SERVICES}

    def env(self) -> dict[str, str]:
        return {ENV[s]: u for s, u in self.urls().items()}

    def __enter__(self) -> ScholarlyServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                server._handle(self, "GET")

            def do_POST(self) -> None:
                server._handle(self, "POST")

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()

    # -- dispatch --------------------------------------------------------------------------------
    def _handle(self, h: BaseHTTPRequestHandler, method: str) -> None:
        url = urlsplit(h.path)
        service = next((s for s in SERVICES if url.path.startswith(PREFIX[s] + "/")), None)
        length = int(h.headers.get("content-length") or 0)
        raw = h.rfile.read(length) if length else b""
        body = json.loads(raw) if raw else None
        query = parse_qs(url.query)
        with self._lock:
            self.requests.append(
                Seen(service or "?", method, url.path, query, body, h.client_address[0], time.time())
            )
            fault = self.faults.get(service or "", []).pop(0) if self.faults.get(service or "") else None
        if fault and fault.delay:
            time.sleep(fault.delay)
        if fault and fault.status:
            headers = {"Retry-After": fault.retry_after} if fault.retry_after else {}
            return self._send(
                h, fault.status, "application/json", json.dumps({"message": "slow down"}), headers
            )
        if service is None:
            return self._send(h, 404, "text/plain", "no such service")
        rest = url.path[len(PREFIX[service]) :]
        try:
            status, kind, text = getattr(self, f"_{service}")(method, rest, query, body)
        except (KeyError, ValueError, TypeError) as exc:
            status, kind, text = 400, "application/json", json.dumps({"error": f"bad request: {exc}"})
        self._send(h, status, kind, text)

    @staticmethod
    def _send(
        h: BaseHTTPRequestHandler, status: int, kind: str, text: str, headers: dict | None = None
    ) -> None:
        data = text.encode("utf-8")
        try:
            h.send_response(status)
            h.send_header("Content-Type", kind)
            h.send_header("Content-Length", str(len(data)))
            for k, v in (headers or {}).items():
                h.send_header(k, v)
            h.end_headers()
            h.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (a timeout test)
            pass

    def _known(self, service: str) -> list[Paper]:
        return [p for p in self.papers if service in p.services]

    def _by_title(self, service: str, text: str) -> list[Paper]:
        return [p for p in self._known(service) if norm(p.title) == norm(text)]

    # -- Semantic Scholar ------------------------------------------------------------------------
    def _s2_paper(self, p: Paper) -> dict[str, Any]:
        ids: dict[str, Any] = {"CorpusId": int(p.ident)}
        if p.doi:
            ids["DOI"] = p.doi
        if p.arxiv:
            ids["ArXiv"] = p.arxiv
        if p.pmid:
            ids["PubMed"] = p.pmid
        return {
            "paperId": f"{int(p.ident):040x}",
            "externalIds": ids,
            "url": f"https://www.semanticscholar.org/paper/{int(p.ident):040x}",
            "title": p.title,
            "abstract": p.abstract_for("semantic_scholar"),
            "venue": p.venue,
            "year": p.year,
            "authors": [{"authorId": str(1000 + i), "name": a} for i, a in enumerate(p.authors)],
        }

    def _semantic_scholar(self, method: str, rest: str, query: dict, body: Any) -> tuple[int, str, str]:
        if method == "POST" and rest == "/paper/batch":
            ids = body["ids"]
            if len(ids) > 500:
                return 400, "application/json", json.dumps({"error": "Cannot exceed 500 ids"})
            out = []
            for ident in ids:
                kind, _, value = ident.partition(":")
                attr = {"DOI": "doi", "ARXIV": "arxiv", "PMID": "pmid"}[kind.upper()]
                hit = next(
                    (
                        p
                        for p in self._known("semantic_scholar")
                        if (getattr(p, attr) or "").lower() == value.lower()
                    ),
                    None,
                )
                out.append(self._s2_paper(hit) if hit else None)
            return 200, "application/json", json.dumps(out)
        if method == "GET" and rest == "/paper/search":
            hits = self._by_title("semantic_scholar", query["query"][0])
            limit = int(query.get("limit", ["100"])[0])
            data = [self._s2_paper(p) for p in hits[:limit]]
            return 200, "application/json", json.dumps({"total": len(hits), "offset": 0, "data": data})
        return 404, "application/json", json.dumps({"error": "Not found"})

    # -- OpenAlex --------------------------------------------------------------------------------
    @staticmethod
    def _inverted(text: str | None) -> dict[str, list[int]] | None:
        if not text:
            return None
        index: dict[str, list[int]] = {}
        for i, word in enumerate(text.split()):
            index.setdefault(word, []).append(i)
        return index

    def _openalex_work(self, p: Paper) -> dict[str, Any]:
        return {
            "id": f"https://openalex.org/W{p.ident}",
            "doi": f"https://doi.org/{p.doi}" if p.doi else None,
            "title": p.title,
            "display_name": p.title,
            "publication_year": p.year,
            "ids": {
                "openalex": f"https://openalex.org/W{p.ident}",
                **({"doi": f"https://doi.org/{p.doi}"} if p.doi else {}),
                **({"pmid": f"https://pubmed.ncbi.nlm.nih.gov/{p.pmid}"} if p.pmid else {}),
            },
            "primary_location": {
                "landing_page_url": f"https://arxiv.org/abs/{p.arxiv}" if p.arxiv else None,
                "source": {"display_name": p.venue} if p.venue else None,
            },
            "authorships": [
                {
                    "author_position": "first" if i == 0 else "middle",
                    "author": {"id": f"https://openalex.org/A{i}", "display_name": a},
                    "raw_author_name": a,
                }
                for i, a in enumerate(p.authors)
            ],
            "abstract_inverted_index": self._inverted(p.abstract_for("openalex")),
        }

    def _openalex(self, method: str, rest: str, query: dict, body: Any) -> tuple[int, str, str]:
        if rest != "/works":
            return 404, "application/json", json.dumps({"error": "Not found"})
        hits: list[Paper] = []
        if "filter" in query:
            kind, _, values = query["filter"][0].partition(":")
            wanted = [v.lower().replace("https://doi.org/", "") for v in values.split("|")]
            if len(wanted) > 100:
                return 400, "application/json", json.dumps({"error": "Maximum 100 OR values"})
            hits = [p for p in self._known("openalex") if (getattr(p, kind) or "").lower() in wanted]
        elif "search" in query:
            hits = self._by_title("openalex", query["search"][0])
        per_page = int(query.get("per-page", ["25"])[0])
        meta = {"count": len(hits), "db_response_time_ms": 3, "page": 1, "per_page": per_page}
        return (
            200,
            "application/json",
            json.dumps(
                {"meta": meta, "results": [self._openalex_work(p) for p in hits[:per_page]], "group_by": []}
            ),
        )

    # -- arXiv -----------------------------------------------------------------------------------
    def _atom_entry(self, p: Paper) -> str:
        authors = "".join(f"<author><name>{escape(a)}</name></author>" for a in p.authors)
        doi = f"<arxiv:doi>{escape(p.doi)}</arxiv:doi>" if p.doi else ""
        ref = f"<arxiv:journal_ref>{escape(p.venue)}</arxiv:journal_ref>" if p.venue else ""
        return (
            f"<entry><id>http://arxiv.org/abs/{p.arxiv}v1</id>"
            f"<updated>{p.year}-02-01T00:00:00Z</updated><published>{p.year}-01-15T00:00:00Z</published>"
            f"<title>{escape(p.title)}</title><summary>  {escape(p.abstract_for('arxiv') or '')}\n</summary>"
            f'{authors}{doi}{ref}<link href="http://arxiv.org/abs/{p.arxiv}v1" rel="alternate" type="text/html"/>'
            f'<arxiv:primary_category term="cs.LG" scheme="http://arxiv.org/schemas/atom"/></entry>'
        )

    def _arxiv(self, method: str, rest: str, query: dict, body: Any) -> tuple[int, str, str]:
        if rest != "/query":
            return 404, "text/plain", "not found"
        known = [p for p in self._known("arxiv") if p.arxiv]
        if "id_list" in query:
            ids = [
                i.split("v")[0] if re.fullmatch(r"\d{4}\.\d{4,5}v\d+", i) else i
                for i in query["id_list"][0].split(",")
            ]
            hits = [p for i in ids for p in known if p.arxiv == i]
        elif words := re.findall(r"all:(\S+)", query["search_query"][0]):  # all:a AND all:b: every word somewhere
            hits = [p for p in known if set(map(str.lower, words)) <= set(norm(f"{p.title} {p.abstract}").split())]
        else:
            m = re.fullmatch(r'ti:"(.*)"', query["search_query"][0])
            hits = [p for p in known if m and norm(p.title) == norm(m.group(1))]
        hits = hits[: int(query.get("max_results", ["10"])[0])]
        feed = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            '<feed xmlns="http://www.w3.org/2005/Atom" xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/" '
            'xmlns:arxiv="http://arxiv.org/schemas/atom">'
            '<link href="http://arxiv.org/api/query" rel="self" type="application/atom+xml"/>'
            '<title type="html">ArXiv Query</title><id>http://arxiv.org/api/loopback</id>'
            "<updated>2026-01-01T00:00:00-05:00</updated>"
            f"<opensearch:totalResults>{len(hits)}</opensearch:totalResults>"
            "<opensearch:startIndex>0</opensearch:startIndex>"
            f"<opensearch:itemsPerPage>{len(hits)}</opensearch:itemsPerPage>"
            + "".join(self._atom_entry(p) for p in hits)
            + "</feed>"
        )
        return 200, "application/atom+xml; charset=utf-8", feed

    # -- Crossref --------------------------------------------------------------------------------
    def _crossref_item(self, p: Paper) -> dict[str, Any]:
        item: dict[str, Any] = {
            "DOI": p.doi,
            "type": "journal-article",
            "title": [p.title],
            "author": [
                {
                    "given": " ".join(a.split()[:-1]),
                    "family": a.split()[-1],
                    "sequence": "first" if i == 0 else "additional",
                    "affiliation": [],
                }
                for i, a in enumerate(p.authors)
            ],
            "container-title": [p.venue] if p.venue else [],
            "issued": {"date-parts": [[p.year, 3, 1]]},
            "URL": f"https://doi.org/{p.doi}",
        }
        text = p.abstract_for("crossref")
        if text:
            item["abstract"] = f"<jats:title>Abstract</jats:title><jats:p>{escape(text)}</jats:p>"
        return item

    def _crossref(self, method: str, rest: str, query: dict, body: Any) -> tuple[int, str, str]:
        if rest.startswith("/works/"):
            doi = unquote(rest[len("/works/") :]).lower()
            hit = next((p for p in self._known("crossref") if (p.doi or "").lower() == doi), None)
            if hit is None:
                return 404, "text/plain", "Resource not found."
            message = {
                "status": "ok",
                "message-type": "work",
                "message-version": "1.0.0",
                "message": self._crossref_item(hit),
            }
            return 200, "application/json", json.dumps(message)
        if rest == "/works":
            text = (query.get("query.bibliographic") or query.get("query") or [""])[0]
            hits = [p for p in self._by_title("crossref", text) if p.doi]
            rows = int(query.get("rows", ["20"])[0])
            message = {
                "status": "ok",
                "message-type": "work-list",
                "message": {
                    "total-results": len(hits),
                    "items": [self._crossref_item(p) for p in hits[:rows]],
                    "items-per-page": rows,
                },
            }
            return 200, "application/json", json.dumps(message)
        return 404, "text/plain", "Resource not found."


class Guard:
    """Refuses (and records in ``refused``) every name lookup and connection that is not loopback."""

    LOOPBACK = ("127.0.0.1", "::1", "localhost")

    def __init__(self) -> None:
        self.refused: list[str] = []

    def __enter__(self) -> Guard:
        import socket

        self._connect, self._getaddrinfo = socket.socket.connect, socket.getaddrinfo
        guard, real_connect, real_getaddrinfo = self, self._connect, self._getaddrinfo

        def connect(sock: socket.socket, address: Any) -> Any:
            host = address[0] if isinstance(address, tuple) else None
            if (
                host is not None
                and sock.family in (socket.AF_INET, socket.AF_INET6)
                and host not in guard.LOOPBACK
            ):
                guard.refused.append(str(host))
                raise OSError(f"test guard: no connection to {host} (tests talk to 127.0.0.1 only)")
            return real_connect(sock, address)

        def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
            if host is not None and str(host) not in guard.LOOPBACK:
                guard.refused.append(str(host))
                raise OSError(f"test guard: no name lookup of {host} (tests talk to 127.0.0.1 only)")
            return real_getaddrinfo(host, *args, **kwargs)

        socket.socket.connect, socket.getaddrinfo = connect, getaddrinfo  # type: ignore[method-assign]
        return self

    def __exit__(self, *exc: Any) -> None:
        import socket

        socket.socket.connect, socket.getaddrinfo = self._connect, self._getaddrinfo  # type: ignore[method-assign]


#: environment variables of the user's own that must not take part in a test
USER_VARS = (
    "CYCLERESEARCHER_S2_API_KEY",
    "S2_API_KEY",
    "SEMANTIC_SCHOLAR_API_KEY",
    "CYCLERESEARCHER_OPENALEX_API_KEY",
    "OPENALEX_API_KEY",
    "CYCLERESEARCHER_MAILTO",
)


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch, tmp_path: Any):
    """Autouse where imported: no real key, a fresh cache, and a socket guard that refuses (and
    records) any address but 127.0.0.1, so no test request can reach a real service."""
    for name in USER_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CYCLERESEARCHER_SCHOLARLY_CACHE", str(tmp_path / "scholarly-cache.sqlite"))
    with Guard() as guard:
        yield guard
