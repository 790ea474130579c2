"""The arXiv API (``/query``): an Atom 1.0 feed. ``id_list=a,b`` resolves ids (without version: the
latest), ``search_query=ti:"..."`` or ``all:...`` searches. Each ``<entry>`` holds ``<id>``
(``http://arxiv.org/abs/ID vN``), ``<title>``, ``<summary>`` (the abstract), ``<published>``,
``<author><name>``, and optionally ``<arxiv:doi>`` and ``<arxiv:journal_ref>``. A malformed id comes
back as one entry titled ``Error``. arXiv asks for at most one request every 3 seconds."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence

from .base import Ident, Service
from .transport import ServiceError
from .work import Work, normalize_arxiv, normalize_doi

NS = {"atom": "http://www.w3.org/2005/Atom", "arxiv": "http://arxiv.org/schemas/atom"}


class ArXiv(Service):
    name = "arxiv"
    kinds = frozenset({"arxiv"})
    batch_size = 100

    def _fetch(self, idents: Sequence[Ident]) -> dict[Ident, Work | None]:
        answers: dict[Ident, Work | None] = dict.fromkeys(idents)
        ids = [v for _, v in idents]
        resp = self.transport.get("query", params={"id_list": ",".join(ids), "max_results": len(ids)})
        for work in parse_feed(resp.text if resp is not None else ""):
            if work.arxiv_id and ("arxiv", work.arxiv_id) in answers:
                answers[("arxiv", work.arxiv_id)] = work
        return answers

    def _search(self, query: str, limit: int) -> list[Work]:
        words = _words(query)
        if not words:
            return []
        return self._query(" AND ".join(f"all:{w}" for w in words), limit)

    def _search_title(self, title: str, limit: int) -> list[Work]:
        words = _words(title)
        return self._query(f'ti:"{" ".join(words)}"', limit) if words else []

    def _query(self, search_query: str, limit: int) -> list[Work]:
        resp = self.transport.get("query", params={"search_query": search_query, "max_results": limit})
        return parse_feed(resp.text if resp is not None else "")


def _words(text: str) -> list[str]:
    # the query syntax has its own operators and quotes: keep plain words only
    return re.findall(r"[^\W_]+", text)


def _text(node: ET.Element | None) -> str:
    return " ".join((node.text or "").split()) if node is not None else ""


def parse_feed(xml: str) -> list[Work]:
    """The works of an arXiv Atom feed (error entries left out)."""
    if not xml.strip():
        return []
    try:
        root = ET.fromstring(xml)
    except ET.ParseError as exc:
        raise ServiceError(f"arxiv: the answer is not an Atom feed ({exc}): {xml[:200]!r}") from exc
    works = []
    for entry in root.findall("atom:entry", NS):
        ident = _text(entry.find("atom:id", NS))
        title = _text(entry.find("atom:title", NS))
        if "/api/errors" in ident or (title == "Error" and not normalize_arxiv(ident)):
            continue
        arxiv_id = normalize_arxiv(ident)
        published = _text(entry.find("atom:published", NS))
        works.append(
            Work(
                service=ArXiv.name,
                ident=arxiv_id or ident,
                title=title,
                abstract=_text(entry.find("atom:summary", NS)) or None,
                year=int(published[:4]) if published[:4].isdigit() else None,
                doi=normalize_doi(_text(entry.find("arxiv:doi", NS))),
                arxiv_id=arxiv_id,
                venue=_text(entry.find("arxiv:journal_ref", NS)) or None,
                authors=[_text(a.find("atom:name", NS)) for a in entry.findall("atom:author", NS)],
                url=ident or None,
            )
        )
    return works
