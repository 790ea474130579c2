"""CLI: ``cycleresearcher references`` -- read reference files and show the prompt block."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

from ._common import guard
from ._group import group


@guard
def render(
    files: Annotated[
        list[str],
        typer.Argument(
            help=".bib, .bbl, training-layout text or paper-record .json files (merged in order); - reads stdin.",
            show_default=False,
        ),
    ],
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the parsed references as JSON instead of the block.")
    ] = False,
    bibtex: Annotated[
        bool,
        typer.Option(
            "--bibtex",
            help="Print plain BibTeX (no Abstract lines), as written to a LaTeX project's references.bib.",
        ),
    ] = False,
    strict: Annotated[
        bool,
        typer.Option(
            "--strict/--lenient",
            help="--lenient keeps an entry whose braces never close (a cut-off block) instead of failing.",
        ),
    ] = True,
) -> None:
    """Print the references in the training layout of the CycleResearcher prompt (each abstract on an [bold]Abstract:[/] line just before its entry).

    A block already in that layout comes back byte for byte. Warnings (duplicate keys, missing abstracts) go to stderr; bad input exits with code 2.

    Example: cycleresearcher references render examples/references.bib
    """
    from ..references import load_references, render_references, to_bibtex

    # "-" reads standard input, so blocks can be piped through
    sources = [sys.stdin.buffer.read() if f == "-" else f for f in files]
    refs = (
        load_references(sources, strict=strict)
        if len(sources) > 1
        else load_references(sources[0], strict=strict, name="<stdin>" if files[0] == "-" else None)
    )
    for warning in refs.warnings:
        typer.echo(f"warning: {warning}", err=True)
    if as_json:
        text = json.dumps(refs.to_dict(), indent=2, ensure_ascii=False) + "\n"
    elif bibtex:
        text = to_bibtex(refs)
    else:
        text = render_references(refs)
    # written as is: the block must come back byte for byte (no wrapping, no markup, no added newline)
    sys.stdout.write(text)
    sys.stdout.flush()


def register(app: typer.Typer) -> None:
    sub = group(
        "references",
        help="Read reference files (.bib, .bbl, paper-record JSON) and show the prompt block.\n\n"
        "Example: cycleresearcher references examples/references.bib",
        default="render",
    )
    sub.command("render")(render)
    from .references_enrich import enrich

    sub.command("enrich")(enrich)
    app.add_typer(sub)
