"""Semantic Scholar Graph API (``/graph/v1``): ``POST /paper/batch`` resolves up to 500 ids in one
request and answers a list in the same order, ``null`` where an id is unknown;
``GET /paper/search`` ranks papers for a query (``{"total", "offset", "data": [...]}``).
Ids are written ``DOI:10.x/y``, ``ARXIV:2101.00001``, ``PMID:123``; an API key goes in the
``x-api-key`` header. Some papers have ``"abstract": null`` (publisher restrictions)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .base import Ident, Service
from .work import Work, normalize_arxiv, normalize_doi

FIELDS = "title,abstract,year,venue,externalIds,authors,url"
_PREFIX = {"doi": "DOI", "arxiv": "ARXIV", "pmid": "PMID"}


class SemanticScholar(Service):
    name = "semantic_scholar"
    kinds = frozenset(_PREFIX)
    batch_size = 500

    def _fetch(self, idents: Sequence[Ident]) -> dict[Ident, Work | None]:
        resp = self.transport.post(
            "paper/batch",
            params={"fields": FIELDS},
            json={"ids": [f"{_PREFIX[kind]}:{value}" for kind, value in idents]},
        )
        body = resp.json() if resp is not None else []
        if not isinstance(body, list) or len(body) != len(idents):
            # a 404 / an unexpected shape: none of them is known
            return dict.fromkeys(idents)
        return {i: (parse_paper(p) if isinstance(p, dict) else None) for i, p in zip(idents, body)}

    def _search(self, query: str, limit: int) -> list[Work]:
        # the search splits on hyphens badly ("pre-training" finds nothing): send words
        words = " ".join(query.replace("-", " ").split())
        resp = self.transport.get("paper/search", params={"query": words, "limit": limit, "fields": FIELDS})
        data = (resp.json() or {}).get("data") if resp is not None else None
        return [parse_paper(p) for p in data or [] if isinstance(p, dict)]


def parse_paper(paper: dict[str, Any]) -> Work:
    ids = paper.get("externalIds") or {}
    return Work(
        service=SemanticScholar.name,
        ident=str(paper.get("paperId") or ""),
        title=paper.get("title") or "",
        abstract=paper.get("abstract") or None,
        year=paper.get("year"),
        doi=normalize_doi(ids.get("DOI")),
        arxiv_id=normalize_arxiv(ids.get("ArXiv")),
        pmid=str(ids["PubMed"]) if ids.get("PubMed") else None,
        venue=paper.get("venue") or None,
        authors=[a.get("name") or "" for a in paper.get("authors") or [] if isinstance(a, dict)],
        url=paper.get("url"),
    )
