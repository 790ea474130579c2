"""Clients of the public scholarly services: Semantic Scholar, OpenAlex, arXiv and Crossref.

Nothing here sends a request until a caller opens the services (``open_services``): the package is
offline unless asked. Every client has the same surface, for enrichment
(``cycleresearcher.references.enrich``) and for searches of one's own (e.g. a novelty check)::

    from cycleresearcher.scholarly import open_services

    for service in open_services():              # URLs, keys and contact from the environment
        for work in service.search("diffusion models for protein design", limit=5):
            print(service.name, work.year, work.title, work.doi)
        service.close()

- ``Service.search(query, limit)``: works for free words (keywords or a title), best first;
- ``Service.search_title(title, limit)``: works for one title (arXiv: a ``ti:`` phrase, Crossref:
  ``query.bibliographic``);
- ``Service.lookup([("doi", "10.x/y"), ("arxiv", "2101.00001"), ("pmid", "123")])``: batched;
  ``{ident: Work or None}`` for the kinds the service resolves (``Service.kinds``).

Every answer, negative ones too, is kept in one SQLite cache (``cache.AnswerCache``): the same
question is never sent twice. ``Work`` is the one record they return; ``match.match_title`` is
the strict rule for trusting a title search. Environment variables: see ``config``.
"""

from __future__ import annotations

from .base import Ident, Service
from .cache import AnswerCache, default_cache_path
from .config import ORDER, ScholarlyConfig, open_services
from .match import TitleMatch, match_title
from .transport import ServiceError, Transport
from .work import Work, normalize_arxiv, normalize_doi, normalize_title, surname

__all__ = [
    "ORDER",
    "AnswerCache",
    "Ident",
    "ScholarlyConfig",
    "Service",
    "ServiceError",
    "TitleMatch",
    "Transport",
    "Work",
    "default_cache_path",
    "match_title",
    "normalize_arxiv",
    "normalize_doi",
    "normalize_title",
    "surname",
    "open_services",
]
