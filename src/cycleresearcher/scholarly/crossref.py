"""Crossref REST API: ``GET /works/{doi}`` answers ``{"status": "ok", "message-type": "work",
"message": {...}}`` (404 for an unknown DOI); ``GET /works?query.bibliographic=...`` answers
``{"message": {"items": [...]}}``. Abstracts, when a publisher deposited one, are JATS XML
(``<jats:p>...``), turned into plain text here. ``mailto=`` puts the caller in the polite pool."""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from .base import Ident, Service
from .work import Work, normalize_doi

_JATS_TITLE = re.compile(r"<(jats:)?title[^>]*>.*?</(jats:)?title>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]+>")


class Crossref(Service):
    name = "crossref"
    kinds = frozenset({"doi"})
    batch_size = 1

    def _fetch(self, idents: Sequence[Ident]) -> dict[Ident, Work | None]:
        answers: dict[Ident, Work | None] = {}
        for ident in idents:
            resp = self.transport.get(f"works/{quote(ident[1], safe='/')}")
            message = (resp.json() or {}).get("message") if resp is not None else None
            answers[ident] = parse_item(message) if isinstance(message, dict) else None
        return answers

    def _search(self, query: str, limit: int) -> list[Work]:
        return self._items({"query": query, "rows": limit})

    def _search_title(self, title: str, limit: int) -> list[Work]:
        return self._items({"query.bibliographic": title, "rows": limit})

    def _items(self, params: dict[str, Any]) -> list[Work]:
        resp = self.transport.get("works", params=params)
        items = ((resp.json() or {}).get("message") or {}).get("items") if resp is not None else None
        return [parse_item(i) for i in items or [] if isinstance(i, dict)]


def jats_to_text(jats: str | None) -> str | None:
    """Plain text of a JATS abstract: its "Abstract" heading dropped, tags removed, entities read."""
    if not jats:
        return None
    text = _TAG.sub(" ", _JATS_TITLE.sub(" ", jats))
    return " ".join(html.unescape(text).split()) or None


def _year(message: dict[str, Any]) -> int | None:
    for key in ("issued", "published", "published-print", "published-online", "created"):
        parts = (message.get(key) or {}).get("date-parts") or []
        if parts and parts[0] and parts[0][0]:
            return int(parts[0][0])
    return None


def _first(value: Any) -> str:
    if isinstance(value, list):
        return str(value[0]) if value else ""
    return str(value or "")


def parse_item(message: dict[str, Any]) -> Work:
    authors = []
    for a in message.get("author") or []:
        if isinstance(a, dict):
            family, given = a.get("family"), a.get("given")
            authors.append(f"{family}, {given}" if family and given else family or a.get("name") or "")
    doi = normalize_doi(message.get("DOI"))
    return Work(
        service=Crossref.name,
        ident=doi or "",
        title=" ".join(_first(message.get("title")).split()),
        abstract=jats_to_text(message.get("abstract")),
        year=_year(message),
        doi=doi,
        venue=_first(message.get("container-title")) or None,
        authors=authors,
        url=message.get("URL"),
    )
