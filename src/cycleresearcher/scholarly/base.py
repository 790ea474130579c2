"""What every service client shares: identifiers as ``(kind, value)`` pairs, a cached batched
``lookup`` and a cached ``search``. A subclass only says how one batch or one search goes over
the wire (``_fetch`` / ``_search``) and how its answer reads (into ``Work``)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from .cache import AnswerCache
from .transport import Transport
from .work import Work

#: ``("doi", "10.1000/x")``, ``("arxiv", "2101.00001")``, ``("pmid", "12345")``
Ident = tuple[str, str]


class Service:
    """A client of one scholarly service.

    ``lookup(idents)`` -> ``{ident: Work or None}`` for the identifier kinds in ``kinds`` (others
    are left out of the answer); ``search(query, limit)`` -> works the service ranks for a free
    query (title words or keywords), best first; ``search_title(title, limit)`` the same for an
    exact title where the service has a title field. Every answer, negative ones included, goes
    to the cache first: the same question never goes out twice.
    """

    name = "service"
    #: identifier kinds this service resolves
    kinds: frozenset[str] = frozenset()
    #: ids per request
    batch_size = 1

    def __init__(self, transport: Transport, cache: AnswerCache):
        self.transport = transport
        self.cache = cache

    @property
    def sent(self) -> int:
        return self.transport.sent

    def lookup(self, idents: Iterable[Ident]) -> dict[Ident, Work | None]:
        wanted = list(dict.fromkeys(i for i in idents if i[0] in self.kinds))
        found: dict[Ident, Work | None] = {}
        missing: list[Ident] = []
        for ident in wanted:
            hit, value = self.cache.get(self.name, "id", _key(ident))
            if hit:
                found[ident] = Work.from_dict(value) if value else None
            else:
                missing.append(ident)
        for start in range(0, len(missing), self.batch_size):
            batch = missing[start : start + self.batch_size]
            answers = self._fetch(batch)
            self.cache.put_many(
                self.name, "id", {_key(i): (w.to_dict() if (w := answers.get(i)) else None) for i in batch}
            )
            found.update({i: answers.get(i) for i in batch})
        return found

    def search(self, query: str, limit: int = 10) -> list[Work]:
        """Works matching ``query`` (free words), best first, at most ``limit``."""
        return self._cached_search("search", query, limit, self._search)

    def search_title(self, title: str, limit: int = 10) -> list[Work]:
        """Works whose title matches ``title``, best first (the enrichment's title lookup)."""
        return self._cached_search("title", title, limit, self._search_title)

    def _cached_search(self, kind: str, query: str, limit: int, run) -> list[Work]:
        key = f"{limit}:{' '.join(query.split())}"
        hit, value = self.cache.get(self.name, kind, key)
        if hit:
            return [Work.from_dict(v) for v in value]
        works = run(" ".join(query.split()), limit)[:limit]
        self.cache.put(self.name, kind, key, [w.to_dict() for w in works])
        return works

    # -- per service ------------------------------------------------------------------------------
    def _fetch(self, idents: Sequence[Ident]) -> dict[Ident, Work | None]:
        raise NotImplementedError

    def _search(self, query: str, limit: int) -> list[Work]:
        raise NotImplementedError

    def _search_title(self, title: str, limit: int) -> list[Work]:
        return self._search(title, limit)

    def close(self) -> None:
        self.transport.close()


def _key(ident: Ident) -> str:
    return f"{ident[0]}:{ident[1]}"
