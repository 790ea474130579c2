"""CLI: how ``references enrich`` shows its enrichment: the progress line, the summary table and
the entries left unfilled."""

from __future__ import annotations

import time
from pathlib import Path

from ._common import console
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
