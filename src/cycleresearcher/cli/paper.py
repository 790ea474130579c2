"""CLI: ``cycleresearcher paper parse`` and ``cycleresearcher paper export`` (app/export.py)."""

from __future__ import annotations

import json
from typing import Annotated, Optional

import typer

from ._aliases import OUT_ALIASES, aliased
from ._common import EXIT_FAILED, console, guard, out
from ._group import group


@guard
def parse(
    file: Annotated[
        str,
        typer.Argument(help="Raw generated text (turn 3 + results + turn 5 as the model wrote them)."),
    ],
    stage1: Annotated[
        bool,
        typer.Option("--stage1", help="The generation stopped after the experiment setup (two-stage mode)."),
    ] = False,
    measured: Annotated[
        bool,
        typer.Option("--measured", help="The results in the text are real (not written by the model)."),
    ] = False,
) -> None:
    """Print the Paper record as JSON (model-card keys at the top level, plus warnings and results_simulated).

    Example: cycleresearcher paper parse generation.txt > paper.json
    """
    from ..app.export import not_a_paper, read_source
    from ..paper import parse_paper, parse_stage1
    from ._report import ConsoleReport

    text = read_source(file)
    paper = parse_stage1(text) if stage1 else parse_paper(text, results_simulated=not measured)
    for warning in paper.warnings:
        ConsoleReport().warn(warning)
    why = not_a_paper(paper)
    if why:
        ConsoleReport().warn(f"{file}: {why}")
    out.print_json(json.dumps(paper.to_dict(), ensure_ascii=False))


@guard
def export(
    file: Annotated[str, typer.Argument(help="A Paper JSON (one record or a list) or raw generated text.")],
    fmt: Annotated[
        str,
        typer.Option("--format", "-f", help="json, md, latex (project, no compile), pdf (project + PDF), all."),
    ] = "all",
    output_dir: Annotated[
        Optional[str],
        typer.Option("--out", "-o", help="Folder to write into (default: next to FILE, in <name>-export/)."),
    ] = None,
    bib: Annotated[
        Optional[str],
        typer.Option(
            "--bib",
            help="The references the paper cites (.bib or any format 'references render' reads), cleaned as a "
            "run's are: no local path, e-mail or bookkeeping field reaches references.bib "
            "(default: the record's references_bib).",
        ),
    ] = None,
) -> None:
    """Export a paper: JSON, Markdown, a LaTeX project (main.tex + references.bib) and its PDF.

    Every export says the text is AI-generated, and flags simulated results.

    Example: cycleresearcher paper export paper.json --format pdf --bib refs.bib -o out/
    """
    from ..app.export import ExportRequest, export_papers
    from ._report import ConsoleReport

    result = export_papers(ExportRequest(file, fmt, output_dir, bib), ConsoleReport())
    for paper in result.papers:
        if paper.log_excerpt:  # the excerpt the warnings point to
            console.print(f"[bold]LaTeX log excerpt[/] (full log: {paper.log}):")
            console.print(paper.log_excerpt, markup=False, highlight=False)
        for path in paper.files:  # one path a line, never folded at the terminal's width (scripts read it)
            typer.echo(str(path))
        if paper.pdf_status:  # as `research generate` shows it: yes, PDF with problems: ..., no: ...
            line = paper.pdf_status if paper.pdf_status.startswith("PDF") else f"PDF: {paper.pdf_status}"
            console.print(line, soft_wrap=True, markup=False, highlight=False)
    if result.failed:
        console.print(
            "[red]No PDF was produced[/]; main.tex is written: fix it by hand or rerun with --format latex."
        )
        raise typer.Exit(EXIT_FAILED)


def register(app: typer.Typer) -> None:
    paper_app = group(
        "paper", "Parse CycleResearcher output into a Paper record; export it (JSON, Markdown, LaTeX, PDF)."
    )
    paper_app.command("parse")(parse)
    paper_app.command("export", cls=aliased(**OUT_ALIASES))(export)
    app.add_typer(paper_app)
