"""OpenAlex (``/works``): a list answer ``{"meta": {...}, "results": [work, ...]}``. DOIs and PMIDs
go as one OR filter (``filter=doi:10.a/b|10.c/d``, up to 50 values a request); ``search=`` ranks
works for free words. Abstracts come only as ``abstract_inverted_index`` (word -> positions),
rebuilt here into text. Since February 2026 an API key (``api_key=`` parameter) is required for
real use; ``mailto=`` names the caller."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .base import Ident, Service
from .work import Work, normalize_arxiv, normalize_doi

SELECT = "id,doi,title,display_name,publication_year,abstract_inverted_index,authorships,primary_location,ids"


class OpenAlex(Service):
    name = "openalex"
    kinds = frozenset({"doi", "pmid"})
    batch_size = 50

    def _fetch(self, idents: Sequence[Ident]) -> dict[Ident, Work | None]:
        answers: dict[Ident, Work | None] = dict.fromkeys(idents)
        for kind in ("doi", "pmid"):
            # "," and "|" are the filter syntax itself: such an id cannot be asked this way
            values = [v for k, v in idents if k == kind and not any(c in v for c in ",|")]
            if not values:
                continue
            resp = self.transport.get(
                "works",
                params={"filter": f"{kind}:" + "|".join(values), "per-page": 50, "select": SELECT},
            )
            results = (resp.json() or {}).get("results") if resp is not None else None
            for item in results or []:
                work = parse_work(item)
                key = work.doi if kind == "doi" else work.pmid
                if key and (kind, key) in answers:
                    answers[(kind, key)] = work
        return answers

    def _search(self, query: str, limit: int) -> list[Work]:
        resp = self.transport.get("works", params={"search": query, "per-page": limit, "select": SELECT})
        results = (resp.json() or {}).get("results") if resp is not None else None
        return [parse_work(w) for w in results or [] if isinstance(w, dict)]


def abstract_from_index(index: dict[str, list[int]] | None) -> str | None:
    """The text an ``abstract_inverted_index`` stands for: each word put back at its positions."""
    if not index:
        return None
    slots: dict[int, str] = {}
    for word, positions in index.items():
        for p in positions or []:
            slots[int(p)] = word
    return " ".join(slots[p] for p in sorted(slots)) or None


def parse_work(item: dict[str, Any]) -> Work:
    ids = item.get("ids") or {}
    pmid = str(ids.get("pmid") or "").rstrip("/").rsplit("/", 1)[-1] or None
    source = ((item.get("primary_location") or {}).get("source") or {}) if isinstance(item, dict) else {}
    landing = (item.get("primary_location") or {}).get("landing_page_url") or ""
    return Work(
        service=OpenAlex.name,
        ident=str(item.get("id") or "").rsplit("/", 1)[-1],
        title=item.get("title") or item.get("display_name") or "",
        abstract=abstract_from_index(item.get("abstract_inverted_index")),
        year=item.get("publication_year"),
        doi=normalize_doi(item.get("doi")),
        arxiv_id=normalize_arxiv(landing) if "arxiv.org" in landing else None,
        pmid=pmid,
        venue=source.get("display_name") or None,
        authors=[
            ((a.get("author") or {}).get("display_name") or a.get("raw_author_name") or "")
            for a in item.get("authorships") or []
            if isinstance(a, dict)
        ],
        url=item.get("id"),
    )
