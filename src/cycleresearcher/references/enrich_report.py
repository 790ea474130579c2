"""What enrichment did, entry by entry: the records of the side report (JSON) and the summary the
CLI prints. Every filled field names the service, the work and the way it was found."""

from __future__ import annotations

import dataclasses
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Literal

from ..scholarly import Work
from .record import ReferenceSet

#: ``has_abstract``: nothing asked; ``found``: the work was identified (something may be filled);
#: ``ambiguous`` / ``wrong_year``: a title search matched two works / a work of another year:
#: never filled; ``not_found``: no identifier answered and no title matched; ``unanswered``: every
#: lookup of the entry failed (a service unreachable or refusing: see ``errors``), so nobody said
#: it is unknown, and a rerun asks again
Status = Literal["has_abstract", "found", "ambiguous", "wrong_year", "not_found", "unanswered"]
STATUSES: tuple[Status, ...] = ("found", "ambiguous", "wrong_year", "not_found", "unanswered", "has_abstract")


@dataclass
class Filled:
    field: str
    value: str
    service: str
    work: str
    #: how the work was found: ``doi:10.x/y``, ``arxiv:2101.00001``, ``pmid:123`` or ``title``
    via: str


@dataclass
class EntryOutcome:
    key: str
    source: str
    status: Status = "not_found"
    #: services that identified the entry's work, in the order they answered
    services: list[str] = field(default_factory=list)
    filled: list[Filled] = field(default_factory=list)
    #: the works behind an ``ambiguous`` / ``wrong_year`` verdict
    candidates: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def has_abstract_now(self) -> bool:
        return self.status == "has_abstract" or any(f.field == "abstract" for f in self.filled)


def candidate(work: Work) -> dict[str, Any]:
    return {
        "service": work.service,
        "id": work.ident,
        "title": work.title,
        "year": work.year,
        "first_author": work.authors[0] if work.authors else "",
        "doi": work.doi,
    }


@dataclass
class Enrichment:
    """The enriched set (a copy: the input is left as it was) and the per-entry outcomes."""

    references: ReferenceSet
    entries: list[EntryOutcome]
    #: requests sent per service (0 everywhere when every answer came from the cache)
    requests: dict[str, int]
    errors: list[str] = field(default_factory=list)

    @property
    def abstracts_before(self) -> int:
        return sum(e.status == "has_abstract" for e in self.entries)

    @property
    def abstracts_after(self) -> int:
        return sum(e.has_abstract_now for e in self.entries)

    def counts(self) -> Counter:
        return Counter(e.status for e in self.entries)

    def by_service(self) -> Counter:
        """Entries identified per service (an entry several services knew counts for each)."""
        return Counter(s for e in self.entries for s in e.services)

    def to_dict(self) -> dict[str, Any]:
        return {
            "sources": list(self.references.sources),
            "abstracts_before": self.abstracts_before,
            "abstracts_after": self.abstracts_after,
            "counts": {s: self.counts().get(s, 0) for s in STATUSES},
            "by_service": dict(self.by_service()),
            "requests": dict(self.requests),
            "errors": list(self.errors),
            "entries": [dataclasses.asdict(e) for e in self.entries],
        }

    def summary_lines(self) -> list[str]:
        """Plain lines for a terminal: the counts, then every entry that was not filled on purpose."""
        counts, services = self.counts(), self.by_service()
        n = len(self.entries)
        lines = [
            f"abstracts: {self.abstracts_before} of {n} before, {self.abstracts_after} of {n} after",
            "found "
            + str(counts["found"])
            + (" (" + ", ".join(f"{s} {c}" for s, c in services.most_common()) + ")" if services else "")
            + f", ambiguous {counts['ambiguous']}, wrong year {counts['wrong_year']}, not found {counts['not_found']}"
            + (f", unanswered {counts['unanswered']} (no service answered: rerun later)" if counts["unanswered"] else ""),
            "requests sent: " + (", ".join(f"{s} {c}" for s, c in self.requests.items()) or "none"),
        ]
        for e in self.entries:
            if e.status in ("ambiguous", "wrong_year"):
                works = "; ".join(f"{c['service']} {c['id']} ({c['year']})" for c in e.candidates)
                lines.append(f"  {e.status.replace('_', ' ')}, left unfilled: {e.key} [{works}]")
        lines.extend(f"  error: {err}" for err in self.errors)
        return lines
