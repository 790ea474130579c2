"""CLI: ``cycleresearcher references``: read reference files and show the prompt block
(app/references.py); ``references enrich`` fills missing abstracts (app/enrich.py)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from ._common import EXIT_FAILED, console, guard
from ._group import group


def files_arg(help: str) -> Any:
    """The FILES argument of a references command (merged in order)."""
    return Annotated[list[str], typer.Argument(help=help, show_default=False)]


def strict_opt(help: str) -> Any:
    """``--strict/--lenient``: refuse, or skip with a warning, an entry that cannot be read."""
    return Annotated[bool, typer.Option("--strict/--lenient", help=help)]


Files = files_arg(".bib, .bbl, training-layout text or paper-record .json files (merged in order); - reads stdin.")
Strict = strict_opt(
    "--strict refuses input with an entry that cannot be read; by default (--lenient), as BibTeX, "
    "such an entry is skipped with a warning naming its line and cause."
)


@guard
def render(
    files: Files,
    as_json: Annotated[
        bool,
        typer.Option("--json", help="Print the parsed references as JSON instead of the block (not with --bibtex or --explain)."),
    ] = False,
    bibtex: Annotated[
        bool,
        typer.Option(
            "--bibtex",
            help="Print plain BibTeX (no Abstract lines), as written to a LaTeX project's references.bib.",
        ),
    ] = False,
    strict: Strict = False,
    explain: Annotated[
        bool,
        typer.Option(
            "--explain",
            help="Instead of the block, say what reaches the prompt: entries read and skipped, abstracts, each field left out and why, and the prompt's size against the budgets of the released models and of the default embedded one.",
        ),
    ] = False,
) -> None:
    """Print the references in the training layout of the CycleResearcher prompt (each abstract on an [bold]Abstract:[/] line just before its entry).

    A block already in that layout comes back byte for byte; a plain .bib loses its bookkeeping (file paths, owner, timestamps, database metadata) and keeps the fields of the training layout (see --explain). Several files share their @string definitions, in order (an abbreviations file first). Warnings (skipped entries, duplicate keys, missing abstracts) go to stderr; bad input exits with code 2.

    Example: cycleresearcher references render examples/references.bib
    """
    from ..app.references import ShowRequest, show_references
    from ..errors import InputError
    from ._report import ConsoleReport

    chosen = [flag for flag, on in (("--explain", explain), ("--json", as_json), ("--bibtex", bibtex)) if on]
    if len(chosen) > 1:  # each prints something else: one would silently win
        raise InputError(f"{' and '.join(chosen)} cannot be combined: each prints something else; give one.")
    shown = "explain" if explain else "json" if as_json else "bibtex" if bibtex else "block"
    # "-" reads standard input, so blocks can be piped through
    sources = tuple(sys.stdin.buffer.read() if f == "-" else f for f in files)
    name = "<stdin>" if files[0] == "-" else None
    text = show_references(ShowRequest(sources, shown, strict, name), ConsoleReport())
    # written as is: the block must come back byte for byte (no wrapping, no markup, no added newline)
    sys.stdout.write(text)
    sys.stdout.flush()


EnrichFiles = files_arg(".bib files (merged in order; @string definitions as loading shares them).")
EnrichStrict = strict_opt(
    "--strict (the default here, unlike render and generate) refuses a .bib with an entry that cannot be read: "
    "the enriched .bib is meant to replace yours, and a skipped entry would be missing from it. "
    "--lenient skips such an entry with a warning naming its line."
)


@guard
def enrich(
    files: EnrichFiles,
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
    strict: EnrichStrict = True,
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
    from ..app.enrich import STDOUT, EnrichRequest, enrich_bib
    from ._report import ConsoleReport

    request = EnrichRequest(tuple(files), output, report, titles, strict)
    result = enrich_bib(request, ConsoleReport(quiet_steps=False))  # its progress line is always shown
    if str(output) == STDOUT:
        sys.stdout.write(result.bibtex)
        sys.stdout.flush()
    _summary(result.enrichment, result.report_path)
    if result.enrichment.counts()["unanswered"]:  # some work failed: the services could not be asked
        raise typer.Exit(EXIT_FAILED)


def _summary(enrichment, report: Path | None) -> None:
    """The per-status table (and by which service), then every entry left unfilled on purpose."""
    from collections import Counter

    from rich.table import Table

    from ..references.enrich_report import STATUSES
    from ._tables import print_table

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


def register(app: typer.Typer) -> None:
    sub = group(
        "references",
        help="Read reference files (.bib, .bbl, paper-record JSON) and show the prompt block.\n\n"
        "Example: cycleresearcher references examples/references.bib",
        default="render",
    )
    sub.command("render")(render)
    sub.command("enrich")(enrich)
    app.add_typer(sub)
