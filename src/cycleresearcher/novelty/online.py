"""``--online``: the scholarly services' search, as one more source of works.

The check needs one thing of a service: ``search(query, limit)`` returning works (objects or
dicts with ``title``, ``abstract``, ``year``, and an id or URL). ``SearchClient`` is that
interface; ``scholarly_clients()`` gives the clients ``references enrich`` uses (same keys,
pacing, cache and base URLs). A service that fails (rate limit after its retries, timeout, bad
answer) costs a warning, never the check: the report then names only the sources that answered.
"""

from __future__ import annotations

import re
from typing import Any, Protocol

from ..errors import CycleResearcherError, InputError
from ..latex import plain_title
from .records import Subject, Work

#: results asked of each service per query
SEARCH_LIMIT = 20
#: words of the idea / abstract sent as a search query (search endpoints match keywords, not essays)
QUERY_WORDS = 24


class SearchClient(Protocol):
    name: str

    def search(self, query: str, limit: int) -> list[Any]: ...


def search_queries(subject: Subject) -> list[str]:
    """Short keyword queries: the title, then the first words of the idea and of the abstract."""
    out = []
    if subject.title:
        out.append(subject.title)
    for text in (subject.idea, subject.abstract, subject.motivation):
        words = re.sub(r"[^\w\s-]", " ", text).split()
        if words:
            out.append(" ".join(words[:QUERY_WORDS]))
    seen: set[str] = set()
    return [q for q in out if not (q.lower() in seen or seen.add(q.lower()))][:3]


def _field(item: Any, *names: str) -> Any:
    for name in names:
        value = item.get(name) if isinstance(item, dict) else getattr(item, name, None)
        if value:
            return value
    return None


def to_work(item: Any, source: str) -> Work | None:
    title = plain_title(str(_field(item, "title", "display_name") or ""))
    if not title:
        return None
    abstract = _field(item, "abstract")
    year = _field(item, "year", "publication_year")
    key = _field(item, "paperId", "paper_id", "doi", "id", "key")
    url = _field(item, "url", "doi_url")
    return Work(title, re.sub(r"\s+", " ", str(abstract or "")).strip(), str(year or ""), source, str(key or ""), str(url or ""))


def online_works(subject: Subject, clients: list[SearchClient], warnings: list[str], limit: int = SEARCH_LIMIT) -> dict[str, list[Work]]:
    """Works per service (``online:<name>``) for the subject's queries."""
    found: dict[str, list[Work]] = {}
    for client in clients:
        source = f"online:{client.name}"
        works: list[Work] = []
        for query in search_queries(subject):
            try:
                items = client.search(query, limit)
            except (CycleResearcherError, OSError) as exc:
                warnings.append(f"{source}: search failed ({exc}); the report leaves this service out")
                break
            works += [w for item in items or [] if (w := to_work(item, source)) is not None]
        if works:
            found[source] = works
    return found


def scholarly_clients(**settings: Any) -> list[SearchClient]:
    """The scholarly services' clients, as ``references enrich`` configures them."""
    try:
        from .. import scholarly  # type: ignore[attr-defined]
    except ImportError as exc:
        raise InputError(
            "--online needs the scholarly service clients (cycleresearcher.scholarly), which this build "
            "lacks; use --corpus with your own library instead."
        ) from exc
    return scholarly.search_clients(**settings)


__all__ = ["SEARCH_LIMIT", "SearchClient", "online_works", "scholarly_clients", "search_queries", "to_work"]
