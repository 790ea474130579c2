"""The scholarly services as sources of works: their search (``--online`` only) and the answers
``references enrich`` already cached (offline, read when the cache file exists).

The check needs one thing of a service: ``search(query, limit)`` returning works (objects or
dicts with ``title``, ``abstract``, ``year``, and an id or URL). ``SearchClient`` is that
interface; ``scholarly_clients()`` gives the clients ``references enrich`` uses
(``cycleresearcher.scholarly``: same keys, pacing, answer cache and base URLs, set by the
``CYCLERESEARCHER_*_URL`` variables). A service that fails (rate limit after its retries, timeout,
bad answer) costs a warning, never the check: the report then names only the sources that answered.
"""

from __future__ import annotations

import re
from typing import Any, Protocol

from ..errors import CycleResearcherError
from ..latex import plain_title
from .records import Subject, Work

#: results asked of each service per query
SEARCH_LIMIT = 20
#: words of the idea / abstract sent as a search query (search endpoints match keywords, not essays)
QUERY_WORDS = 24
#: the services searched: Crossref is left out (it rarely holds an abstract to compare with)
SEARCH_SERVICES = ("semantic_scholar", "openalex", "arxiv")


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
    key = _field(item, "doi", "arxiv_id", "paperId", "ident", "id", "key")
    url = _field(item, "url", "doi_url")
    return Work(
        title,
        re.sub(r"\s+", " ", str(abstract or "")).strip(),
        str(year or ""),
        source,
        str(key or ""),
        str(url or ""),
    )


def online_works(
    subject: Subject, clients: list[SearchClient], warnings: list[str], limit: int = SEARCH_LIMIT
) -> dict[str, list[Work]]:
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


def scholarly_clients(services: tuple[str, ...] = SEARCH_SERVICES) -> list[SearchClient]:
    """The scholarly services' clients, configured as for ``references enrich`` (close them)."""
    from ..scholarly import open_services

    return list(open_services(services=services))


def cached_works() -> list[Work]:
    """Every work with an abstract in the answer cache of the scholarly clients (filled by
    ``references enrich`` and earlier ``--online`` checks); none when there is no cache file. Read
    only: the check never writes the cache offline."""
    import json
    import sqlite3

    from ..scholarly.cache import default_cache_path

    path = default_cache_path()
    if not path.is_file():
        return []
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
            rows = db.execute("SELECT service, value FROM answers").fetchall()
    except sqlite3.Error:  # a cache of another shape or a locked file: the check goes on without it
        return []
    out: dict[str, Work] = {}  # one copy of a work that several services answered with
    for _service, value in rows:
        data = json.loads(value) if value else None
        for item in data if isinstance(data, list) else [data]:
            if (
                isinstance(item, dict)
                and item.get("abstract")
                and (work := to_work(item, "cache")) is not None
            ):
                out.setdefault(work.identity(), work)
    return list(out.values())


__all__ = [
    "SEARCH_LIMIT",
    "SEARCH_SERVICES",
    "SearchClient",
    "cached_works",
    "online_works",
    "scholarly_clients",
    "search_queries",
    "to_work",
]
