"""Where the services are and who is asking, from environment variables (nothing is sent unless a
caller opens the services: ``open_services``).

===============================  ==============================================  ==================
variable                         meaning                                          default
===============================  ==============================================  ==================
CYCLERESEARCHER_S2_URL           Semantic Scholar Graph API base                  https://api.semanticscholar.org/graph/v1
CYCLERESEARCHER_OPENALEX_URL     OpenAlex base                                    https://api.openalex.org
CYCLERESEARCHER_ARXIV_URL        arXiv API base                                   http://export.arxiv.org/api
CYCLERESEARCHER_CROSSREF_URL     Crossref base                                    https://api.crossref.org
CYCLERESEARCHER_S2_API_KEY       S2 key (``x-api-key``; also S2_API_KEY)          none
CYCLERESEARCHER_OPENALEX_API_KEY OpenAlex key (``api_key=``; also OPENALEX_API_KEY) none
CYCLERESEARCHER_MAILTO           contact address (Crossref / OpenAlex polite pool) none
CYCLERESEARCHER_SCHOLARLY_TIMEOUT seconds per attempt                             30
CYCLERESEARCHER_SCHOLARLY_DEADLINE seconds per call, retries included             120
CYCLERESEARCHER_SCHOLARLY_PACE   multiplies every service's pause between calls   1
CYCLERESEARCHER_SCHOLARLY_CACHE  the SQLite cache file                            see cache.py
===============================  ==============================================  ==================
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from ..errors import InputError
from .arxiv import ArXiv
from .base import Service
from .cache import AnswerCache
from .crossref import Crossref
from .openalex import OpenAlex
from .semantic_scholar import SemanticScholar
from .transport import USER_AGENT, Transport

DEFAULT_URLS = {
    "semantic_scholar": "https://api.semanticscholar.org/graph/v1",
    "openalex": "https://api.openalex.org",
    "arxiv": "http://export.arxiv.org/api",
    "crossref": "https://api.crossref.org",
}
URL_VARS = {
    "semantic_scholar": "CYCLERESEARCHER_S2_URL",
    "openalex": "CYCLERESEARCHER_OPENALEX_URL",
    "arxiv": "CYCLERESEARCHER_ARXIV_URL",
    "crossref": "CYCLERESEARCHER_CROSSREF_URL",
}
#: the order enrichment asks them in: S2 answers 500 ids a request, arXiv is the slowest
ORDER = ("semantic_scholar", "openalex", "arxiv", "crossref")
CLASSES: dict[str, type[Service]] = {
    "semantic_scholar": SemanticScholar,
    "openalex": OpenAlex,
    "arxiv": ArXiv,
    "crossref": Crossref,
}


def _env(*names: str) -> str | None:
    for name in names:
        value = os.environ.get(name, "").strip()
        if value:
            return value
    return None


def _number(name: str, default: float) -> float:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        number = float(value)
    except ValueError as exc:
        raise InputError(f"{name}={value!r} is not a number of seconds; unset it or give e.g. 30") from exc
    if number < 0:
        raise InputError(f"{name}={value!r} is negative; give 0 or more")
    return number


@dataclass
class ScholarlyConfig:
    urls: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_URLS))
    s2_api_key: str | None = None
    openalex_api_key: str | None = None
    mailto: str | None = None
    timeout: float = 30.0
    deadline: float = 120.0
    pace: float = 1.0

    @classmethod
    def from_env(cls) -> ScholarlyConfig:
        return cls(
            urls={s: (_env(URL_VARS[s]) or DEFAULT_URLS[s]).rstrip("/") for s in ORDER},
            s2_api_key=_env("CYCLERESEARCHER_S2_API_KEY", "S2_API_KEY", "SEMANTIC_SCHOLAR_API_KEY"),
            openalex_api_key=_env("CYCLERESEARCHER_OPENALEX_API_KEY", "OPENALEX_API_KEY"),
            mailto=_env("CYCLERESEARCHER_MAILTO"),
            timeout=_number("CYCLERESEARCHER_SCHOLARLY_TIMEOUT", 30.0) or 30.0,
            deadline=_number("CYCLERESEARCHER_SCHOLARLY_DEADLINE", 120.0) or 120.0,
            pace=_number("CYCLERESEARCHER_SCHOLARLY_PACE", 1.0),
        )

    def interval(self, service: str) -> float:
        """Seconds between two calls to one service, as each asks: S2 1 request/s with a key (100
        per 5 minutes without), arXiv one every 3 s, OpenAlex and Crossref a few a second."""
        base = {
            "semantic_scholar": 1.0 if self.s2_api_key else 3.0,
            "openalex": 0.1,
            "arxiv": 3.0,
            "crossref": 0.2,
        }[service]
        return base * self.pace

    def transport(self, service: str) -> Transport:
        headers: dict[str, str] = {}
        params: dict[str, str] = {}
        if self.mailto:
            headers["User-Agent"] = f"{USER_AGENT} (mailto:{self.mailto})"
            if service in ("openalex", "crossref"):
                params["mailto"] = self.mailto
        if service == "semantic_scholar" and self.s2_api_key:
            headers["x-api-key"] = self.s2_api_key
        if service == "openalex" and self.openalex_api_key:
            params["api_key"] = self.openalex_api_key
        return Transport(
            service,
            self.urls[service],
            params=params,
            headers=headers,
            interval=self.interval(service),
            timeout=self.timeout,
            deadline=self.deadline,
        )


def open_services(
    config: ScholarlyConfig | None = None,
    cache: AnswerCache | None = None,
    services: tuple[str, ...] = ORDER,
) -> list[Service]:
    """Clients of ``services`` (in that order) sharing one cache. Close them when done."""
    config = config or ScholarlyConfig.from_env()
    cache = cache or AnswerCache()
    unknown = [s for s in services if s not in CLASSES]
    if unknown:
        raise InputError(f"unknown scholarly service(s) {', '.join(unknown)}; choose from {', '.join(ORDER)}")
    return [CLASSES[s](config.transport(s), cache) for s in services]
