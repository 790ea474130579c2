"""CLI: ``cycleresearcher references enrich`` -- fill missing abstracts from the scholarly services."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Annotated, Optional

import typer

from ._common import console, guard
from ._tables import print_table


def progress_printer(interval: float = 2.0):
    """An ``on_progress`` that prints at most one line every ``interval`` seconds to stderr."""
    last = [0.0]

    def show(done: int, total: int, message: str) -> None:
        now = time.monotonic()
        if now - last[0] >= interval or (total and done == total):
            last[0] = now
            console.print(f"[dim]enrich[/] {done}/{total} {message}", highlight=False)

    return show


def print_summary(enrichment, report: Path | None) -> None:
    """The per-status table (and by which service), then every entry left unfilled on purpose."""
    from collections import Counter

    from rich.table import Table

    from ..references.enrich_report import STATUSES

    counts, services = enrichment.counts(), enrichment.by_service()
    abstracts = Counter(f.service for e in enrichment.entries for f in e.filled if f.field == "abstract")
    table = Table(title="enrichment", title_justify="left")
    for name in ("entries", "count", "identified by", "abstract from"):
        table.add_column(name)
    for status in STATUSES:
        found = status == "found"
        table.add_row(
            status.replace("_", " "),
            str(counts.get(status, 0)),
            ", ".join(f"{s} {c}" for s, c in services.most_common()) if found else "",
            ", ".join(f"{s} {c}" for s, c in abstracts.most_common()) if found else "",
        )
    print_table(console, table)
    for line in enrichment.summary_lines():
        console.print(line, highlight=False, markup=False)
    if report is not None:
        console.print(f"report: {report}", highlight=False, markup=False)


@guard
def enrich(
    files: Annotated[
        list[str],
        typer.Argument(
            help=".bib files (merged in order; @string definitions as loading shares them).",
            show_default=False,
        ),
    ],
    output: Annotated[
        Path,
        typer.Option("--out", "-o", help="The enriched .bib to write (- for stdout).", show_default=False),
    ],
    report: Annotated[
        Optional[Path],
        typer.Option(
            help="Where the JSON report goes (default: OUT with .enrich.json; none for stdout output)."
        ),
    ] = None,
    titles: Annotated[
        bool,
        typer.Option(
            "--titles/--no-titles",
            help="--no-titles looks up identifiers only (DOI, arXiv id, PMID): no title searches, "
            "which cost a paced request per service for each entry left without an abstract.",
        ),
    ] = True,
    strict: Annotated[
        bool,
        typer.Option(
            "--strict/--lenient", help="--lenient keeps an entry whose braces never close instead of failing."
        ),
    ] = True,
) -> None:
    """Fill missing abstracts (and a missing DOI, arXiv id, venue or year) from Semantic Scholar, OpenAlex, arXiv and Crossref.

    Identifiers (DOI, arXiv id, PMID) are looked up first, in batches; then titles, trusted only when
    the normalised title, the year (within one) and the first author's surname all agree. An
    ambiguous or wrong-year title match is never filled: it is listed. Every answer is cached
    (a rerun sends nothing); keys, contact address and service URLs come from environment
    variables (see docs/references.md). This is the only command that sends your references'
    identifiers and titles to those services.

    Example: cycleresearcher references enrich refs.bib -o refs.enriched.bib
    """
    from ..references import load_references, to_bibtex
    from ..references.enrich import enrich_references

    refs = load_references(files if len(files) > 1 else files[0], strict=strict)
    for warning in refs.warnings:
        if "no abstract" not in warning:  # the point of this command
            console.print(f"[yellow]warning[/] {warning}", highlight=False)
    result = enrich_references(refs, on_progress=progress_printer(), titles=titles)
    text = to_bibtex(result.references)
    if str(output) == "-":
        sys.stdout.write(text)
        sys.stdout.flush()
    else:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text, encoding="utf-8")
        report = report or output.with_suffix(".enrich.json")
    if report is not None:
        report.write_text(json.dumps(result.to_dict(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print_summary(result, report)
