"""Enrichment: fill missing abstracts (and a missing DOI, arXiv id, venue or year) from the public
scholarly services (``cycleresearcher.scholarly``). Only asked for (``references enrich``,
``research generate --enrich``, the web page's checkbox): loading references never sends anything.

1. Identifiers first: the DOI (``doi``, a doi.org ``url``), the arXiv id (``eprint``, an arxiv.org
   ``url``, ``arXiv:...`` in ``journal`` / ``note``, DBLP's ``CoRR`` ``abs/...`` volume) and the
   PMID (``pmid``, ``PMID: n`` in ``note``, PubMed's ``pmid<n>`` keys), batched per service (S2 500, OpenAlex 50, arXiv 100
   a request; Crossref one DOI a request).
2. Then, for entries still without an abstract, a title search on each service in turn, trusted
   only under the strict rule of ``scholarly.match``: same normalised title, year within one, same
   first-author surname. Two works passing it (ambiguous) or one passing all but the year (wrong
   year) fill nothing: they are listed in the report.

A field already present is never replaced. Every filled field records its service, work and way.
"""

from __future__ import annotations

import copy
import json
import os
import re
from collections.abc import Callable, Sequence
from pathlib import Path

from ..scholarly import (
    Ident,
    Service,
    ServiceError,
    Work,
    match_title,
    normalize_arxiv,
    normalize_doi,
    open_services,
)
from .enrich_report import Enrichment, EntryOutcome, Filled, candidate
from .fields import balance, clean
from .record import Reference, ReferenceSet

#: (done, total, message)
OnProgress = Callable[[int, int, str], None]

_PMID = re.compile(r"\bPMID:?\s*(\d{4,9})\b", re.IGNORECASE)
_YEAR = re.compile(r"\b(1[5-9]\d\d|2[01]\d\d)\b")
#: the results a title search reads: enough to see a second work of the same title
TITLE_LIMIT = 10


def identifiers(ref: Reference) -> list[Ident]:
    """The entry's DOI, arXiv id and PMID as ``(kind, value)`` pairs, in that order."""
    f = {k.lower(): v for k, v in {**ref.identifiers, **ref.fields}.items()}
    found: list[Ident] = []
    doi = normalize_doi(f.get("doi")) or (
        normalize_doi(f.get("url")) if "doi.org" in f.get("url", "") else None
    )
    if doi:
        found.append(("doi", doi))
    arxiv = None
    if f.get("eprint") and (
        "arxiv" in (f.get("archiveprefix", "") + f.get("eprinttype", "")).lower()
        or re.fullmatch(r"\s*\d{4}\.\d{4,5}(v\d+)?\s*", f["eprint"])
    ):
        arxiv = normalize_arxiv(f["eprint"])
    if not arxiv and f.get("arxivid"):  # Mendeley's field
        arxiv = normalize_arxiv(f["arxivid"])
    for name in ("url", "journal", "note", "howpublished", "booktitle"):
        if not arxiv and "arxiv" in f.get(name, "").lower():
            arxiv = normalize_arxiv(f[name].lower().split("arxiv", 1)[1])
    if not arxiv and clean(f.get("journal", "")).lower() == "corr" and f.get("volume", "").startswith("abs/"):
        arxiv = normalize_arxiv(f["volume"][4:])
    if arxiv:
        found.append(("arxiv", arxiv))
    # PubMed's own export keys its entries pmid<number>
    key = re.fullmatch(r"pmid:?(\d{4,9})", ref.key, re.IGNORECASE)
    pmid = (
        clean(f.get("pmid", ""))
        or next((m.group(1) for m in [_PMID.search(f.get("note", ""))] if m), "")
        or (key.group(1) if key else "")
    )
    if pmid.isdigit():
        found.append(("pmid", pmid))
    return found


def _field(ref: Reference, name: str) -> str:
    """A field's plain text, whatever the case of its name (``Year``, ``AUTHOR`` occur)."""
    return clean(next((v for k, v in ref.fields.items() if k.lower() == name), ""))


def entry_year(ref: Reference) -> int | None:
    m = _YEAR.search(_field(ref, "year") or _field(ref, "date"))
    return int(m.group(1)) if m else None


def first_author(ref: Reference) -> str:
    authors = _field(ref, "author")
    # BibTeX reads "and" in any case ("A AND B" occurs in real files)
    return re.split(r"\s+and\s+", authors, maxsplit=1, flags=re.IGNORECASE)[0].strip() if authors else ""


def enrich_references(
    refs: ReferenceSet,
    services: Sequence[Service] | None = None,
    *,
    on_progress: OnProgress | None = None,
    titles: bool = True,
) -> Enrichment:
    """Enrich a copy of ``refs``. ``services`` default to ``scholarly.open_services()`` (the
    environment's URLs, keys and cache), closed again at the end. A service that fails for good is
    reported in ``errors`` and the rest goes on. ``titles=False``: identifiers only (the title
    phase costs up to one paced request per service for every entry left without an abstract)."""
    own = services is None
    services = list(open_services() if services is None else services)
    try:
        return _Run(refs, services, on_progress).run(titles=titles)
    finally:
        if own:
            for s in services:
                s.close()
            if services:
                services[0].cache.close()  # open_services gave them one cache


def enrich_to_run(
    refs: ReferenceSet, run_dir: str | os.PathLike, on_progress: OnProgress | None = None
) -> ReferenceSet:
    """Enrich for a generation run: the enriched set, its report saved in the run directory
    (``enrichment.json``, then ``enrichment-2.json``, ... for further reference sets)."""
    result = enrich_references(refs, on_progress=on_progress)
    directory = Path(run_dir)
    path, n = directory / "enrichment.json", 1
    while path.exists():
        n += 1
        path = directory / f"enrichment-{n}.json"
    path.write_text(json.dumps(result.to_dict(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    result.references.warnings.append(
        "enrichment: " + "; ".join(result.summary_lines()[:3]) + f" (report: {path})"
    )
    return result.references


class _Run:
    def __init__(self, refs: ReferenceSet, services: Sequence[Service], on_progress: OnProgress | None):
        self.refs = copy.deepcopy(refs)
        self.services = services
        self.on_progress = on_progress or (lambda done, total, message: None)
        self.sent_before = {s.name: s.sent for s in services}
        self.errors: list[str] = []
        #: services that failed for good: not asked again in this run (an offline machine or a
        #: refusing service would otherwise cost every entry a full round of retries)
        self.down: set[str] = set()
        self.outcomes = [EntryOutcome(r.key, r.source) for r in self.refs.references]
        #: entries a service answered about (even "unknown"), and entries a lookup failed for
        self.answered: set[int] = set()
        self.failed_for: set[int] = set()
        self.todo: list[int] = []
        for i, r in enumerate(self.refs.references):
            if r.abstract:
                self.outcomes[i].status = "has_abstract"
            elif not r.truncated:  # a cut-off entry cannot take a field
                self.todo.append(i)

    def run(self, titles: bool = True) -> Enrichment:
        self._by_identifier()
        if titles:
            self._by_title()
        for i in self.failed_for - self.answered:
            if self.outcomes[i].status == "not_found":
                self.outcomes[i].status = "unanswered"
        left = sum(not self.refs.references[i].abstract for i in range(len(self.refs.references)))
        self.refs.warnings = [w for w in self.refs.warnings if "no abstract" not in w]
        if left:
            self.refs.warnings.append(
                f"{left} of {len(self.refs.references)} references still have no abstract after enrichment"
            )
        return Enrichment(
            self.refs,
            self.outcomes,
            {s.name: s.sent - self.sent_before[s.name] for s in self.services},
            self.errors,
        )

    def _missing(self) -> list[int]:
        return [i for i in self.todo if not self.refs.references[i].abstract]

    def _by_identifier(self) -> None:
        idents = {i: identifiers(self.refs.references[i]) for i in self.todo}
        for n, service in enumerate(self.services):
            wanted = [i for i in self._missing() if any(k in service.kinds for k, _ in idents[i])]
            self.on_progress(n, len(self.services), f"{service.name}: {len(wanted)} identifier(s)")
            if not wanted:
                continue
            try:
                answers = service.lookup(ident for i in wanted for ident in idents[i])
            except ServiceError as exc:
                self._failed(service, str(exc))
                self.failed_for.update(wanted)
                continue
            self.answered.update(wanted)
            for i in wanted:
                for ident in idents[i]:
                    work = answers.get(ident)
                    if work is not None:
                        self._apply(i, work, f"{ident[0]}:{ident[1]}")
                        break

    def _by_title(self) -> None:
        missing = self._missing()
        for n, i in enumerate(missing):
            ref, outcome = self.refs.references[i], self.outcomes[i]
            self.on_progress(n, len(missing), f"title lookups: {ref.key}")
            year, author = entry_year(ref), first_author(ref)
            if not ref.title or year is None or not author:
                outcome.notes.append("no title lookup: the entry lacks a title, a year or an author")
                continue
            for service in self.services:
                if service.name in self.down:
                    self.failed_for.add(i)
                    continue
                try:
                    works = service.search_title(ref.title, TITLE_LIMIT)
                except ServiceError as exc:
                    self._failed(service, f"{ref.key}: {exc}")
                    self.failed_for.add(i)
                    continue
                self.answered.add(i)
                verdict = match_title(ref.title, year, author, works)
                if verdict.verdict == "found" and verdict.work is not None:
                    self._apply(i, verdict.work, "title")
                    if ref.abstract:
                        break
                elif verdict.verdict in ("ambiguous", "wrong_year"):
                    outcome.candidates.extend(candidate(w) for w in verdict.candidates)
                    outcome.notes.append(f"{service.name}: {verdict.verdict.replace('_', ' ')} title match")
                    if outcome.status != "found":
                        outcome.status = verdict.verdict
                    if verdict.verdict == "ambiguous":
                        break  # another service's single answer would not make it less ambiguous
        self.on_progress(len(missing), len(missing), "title lookups done")

    def _failed(self, service: Service, error: str) -> None:
        self.errors.append(error)
        self.down.add(service.name)
        self.errors.append(f"{service.name} is not asked again in this run")

    def _apply(self, i: int, work: Work, via: str) -> None:
        ref, outcome = self.refs.references[i], self.outcomes[i]
        outcome.status = "found"
        if work.service not in outcome.services:
            outcome.services.append(work.service)
        lower = {k.lower() for k, v in ref.fields.items() if v.strip()}
        wanted: list[tuple[str, str | None]] = [("abstract", None if ref.abstract else work.abstract)]
        if "doi" not in lower:
            wanted.append(("doi", work.doi))
        if "eprint" not in lower and work.arxiv_id:
            wanted += [("eprint", work.arxiv_id), ("archiveprefix", "arXiv")]
        if not lower & {"journal", "booktitle", "howpublished", "publisher", "school", "institution"}:
            venue_field = (
                "booktitle" if ref.entry_type.lower() in ("inproceedings", "conference") else "journal"
            )
            wanted.append((venue_field, work.venue))
        if not lower & {"year", "date"} and work.year:
            wanted.append(("year", str(work.year)))
        for name, value in wanted:
            if value and not (name == "archiveprefix" and "archiveprefix" in lower):
                set_field(ref, name, value)
                outcome.filled.append(Filled(name, value, work.service, work.ident, via))


def set_field(ref: Reference, name: str, value: str) -> None:
    """Add a field to the entry (its ``fields`` and its raw text, so the exported .bib has it)."""
    value = " ".join(value.split())
    ref.fields[name] = value
    if name == "abstract":
        ref.abstract = value
        ref.abstract_in_entry = False
    if ref.raw is not None and ref.entry_type != "bibitem":
        ref.raw = add_field(ref.raw, name, value)


def add_field(raw: str, name: str, value: str) -> str:
    """``raw`` with ``name = {value}`` added as its last field, in the entry's own indentation."""
    body = raw.rstrip()
    tail = raw[len(body) :]
    if not body.endswith(("}", ")")):
        return raw
    inner = body[:-1].rstrip()
    m = re.search(r"\n([ \t]+)\w[\w-]*\s*=", inner)
    indent = m.group(1) if m else "  "
    comma = "" if inner.endswith(",") else ","
    return f"{inner}{comma}\n{indent}{name} = {{{balance(value)}}}\n{body[-1]}{tail}"
