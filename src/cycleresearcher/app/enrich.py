"""Use case ``references enrich``: fill missing abstracts (and a missing DOI, arXiv id, venue or
year) of .bib files from the scholarly services, and write the enriched .bib and the JSON report.

The only use case that sends the references' identifiers and titles anywhere (``references.enrich``
says how, and what is never filled).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .report import Report

if TYPE_CHECKING:
    from ..references.enrich_report import Enrichment

#: where the enriched .bib goes to the caller instead of a file
STDOUT = "-"
#: seconds between two progress steps (the services are paced: one line a request would flood)
STEP_S = 2.0


@dataclass(frozen=True)
class EnrichRequest:
    sources: tuple[str, ...]  # .bib files, merged in order
    out: Path  # the enriched .bib, or STDOUT: its text is then returned, not written
    report_path: Path | None = None  # default: ``out`` with .enrich.json (none when out is STDOUT)
    titles: bool = True  # also search titles (a paced request per service for each entry left)
    strict: bool = True  # refuse a .bib whose braces never close (default) instead of skipping the entry


@dataclass
class EnrichResult:
    enrichment: Enrichment
    bibtex: str  # the enriched .bib's text (also written to ``out`` unless that is STDOUT)
    report_path: Path | None


def enrich_progress(report: Report) -> Callable[[int, int, str], None]:
    """The enrichment's ``on_progress`` as report steps, at most one every ``STEP_S`` seconds (and
    the last): ``references enrich`` and ``research generate --enrich`` show it alike."""
    last = [float("-inf")]

    def progress(done: int, total: int, message: str) -> None:
        now = time.monotonic()
        if now - last[0] >= STEP_S or (total and done == total):
            last[0] = now
            report.step(f"enrich {done}/{total} {message}")

    return progress


def enrich_bib(request: EnrichRequest, report: Report) -> EnrichResult:
    """Enrich, write the .bib and its report; a progress step at most every ``STEP_S`` seconds."""
    from ..references import load_references, to_bibtex
    from ..references.enrich import enrich_references

    sources = list(request.sources)
    refs = load_references(sources if len(sources) > 1 else sources[0], strict=request.strict)
    for warning in refs.warnings:
        if "no abstract" not in warning:  # the point of this use case
            report.warn(warning)
    result = enrich_references(refs, on_progress=enrich_progress(report), titles=request.titles)
    text = to_bibtex(result.references)
    report_path = request.report_path
    if str(request.out) != STDOUT:
        request.out.parent.mkdir(parents=True, exist_ok=True)
        request.out.write_text(text, encoding="utf-8")
        report_path = report_path or request.out.with_suffix(".enrich.json")
    if report_path is not None:
        body = json.dumps(result.to_dict(), indent=2, ensure_ascii=False) + "\n"
        report_path.write_text(body, encoding="utf-8")
    return EnrichResult(result, text, report_path)


__all__ = ["STDOUT", "EnrichRequest", "EnrichResult", "enrich_bib"]
