"""CLI: ``cycleresearcher paper parse`` and ``cycleresearcher paper export``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from .. import safejson
from ..app.runfolder import writable_dir
from ..errors import InputError
from ._aliases import OUT_ALIASES, aliased
from ._common import EXIT_FAILED, console, guard, out
from ._group import group

FORMATS = ("json", "md", "latex", "pdf", "all")


def _read(path: str) -> str:
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{path}: no such file. Pass the raw generated text or a Paper JSON file.")
    return p.read_text(encoding="utf-8", errors="replace")


def load_papers(path: str) -> list:
    """Paper records from a Paper JSON (one record or a list) or from raw generated text."""
    from ..paper import Paper, parse_paper

    text = _read(path)
    if text.lstrip().startswith(("{", "[")) or Path(path).suffix.lower() == ".json":
        try:
            data = safejson.loads(text, path)
        except safejson.NestingError:
            raise
        except ValueError as exc:
            # a cut-off paper.json (a kill or a full disk while it was written) is no raw text:
            # read as such it became a garbage PDF labelled "Results simulated"
            raise InputError(
                f"{path}: not valid JSON ({_json_error(exc)}, {len(text):,} characters); the file may be "
                "truncated. Export again from the run (cycleresearcher research complete RUN --results ..., "
                "which rewrites stale files from the run store) or pass an intact Paper JSON."
            ) from None
        try:
            if isinstance(data, dict):
                return [Paper.from_dict(data)]
            if isinstance(data, list) and data and all(isinstance(x, dict) for x in data):
                return [Paper.from_dict(x) for x in data]
        except InputError as exc:
            raise InputError(f"{path}: {exc}") from None
    return [parse_paper(text)]


def _json_error(exc: ValueError) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return f"{exc.msg} at line {exc.lineno} column {exc.colno}"
    return str(exc).splitlines()[0][:200]


def register(app: typer.Typer) -> None:
    paper_app = group(
        "paper", "Parse CycleResearcher output into a Paper record; export it (JSON, Markdown, LaTeX, PDF)."
    )

    @paper_app.command("parse")
    @guard
    def parse(
        file: Annotated[
            str,
            typer.Argument(help="Raw generated text (turn 3 + results + turn 5 as the model wrote them)."),
        ],
        stage1: Annotated[
            bool,
            typer.Option(
                "--stage1", help="The generation stopped after the experiment setup (two-stage mode)."
            ),
        ] = False,
        measured: Annotated[
            bool,
            typer.Option("--measured", help="The results in the text are real (not written by the model)."),
        ] = False,
    ) -> None:
        """Print the Paper record as JSON (model-card keys at the top level, plus warnings and results_simulated).

        Example: cycleresearcher paper parse generation.txt > paper.json
        """
        from ..paper import parse_paper, parse_stage1

        text = _read(file)
        paper = parse_stage1(text) if stage1 else parse_paper(text, results_simulated=not measured)
        for warning in paper.warnings:
            console.print(f"[yellow]warning:[/] {warning}")
        out.print_json(json.dumps(paper.to_dict(), ensure_ascii=False))

    @paper_app.command("export", cls=aliased(**OUT_ALIASES))
    @guard
    def export(
        file: Annotated[
            str, typer.Argument(help="A Paper JSON (one record or a list) or raw generated text.")
        ],
        fmt: Annotated[
            str,
            typer.Option(
                "--format", "-f", help="json, md, latex (project, no compile), pdf (project + PDF), all."
            ),
        ] = "all",
        output_dir: Annotated[
            Optional[str],
            typer.Option(
                "--out", "-o", help="Folder to write into (default: next to FILE, in <name>-export/)."
            ),
        ] = None,
        bib: Annotated[
            Optional[str],
            typer.Option(
                "--bib",
                help="BibTeX file with the references the paper cites (default: the record's references_bib).",
            ),
        ] = None,
    ) -> None:
        """Export a paper: JSON, Markdown, a LaTeX project (main.tex + references.bib) and its PDF.

        Every export says the text is AI-generated, and flags simulated results.

        Example: cycleresearcher paper export paper.json --format pdf --bib refs.bib -o out/
        """
        from ..paper.export import export_json, export_latex_project, export_markdown

        if fmt not in FORMATS:
            raise InputError(f"--format {fmt!r} is not one of {', '.join(FORMATS)}.")
        papers = load_papers(file)
        bibtex = _read(bib) if bib else None
        base = Path(writable_dir(output_dir or Path(file).with_name(Path(file).stem + "-export")))
        failed = False
        for i, paper in enumerate(papers):
            where = base if len(papers) == 1 else base / f"paper-{i + 1:03d}"
            written: list[Path] = []
            if fmt in ("json", "all"):
                written.append(export_json(paper, where / "paper.json"))
            if fmt in ("md", "all"):
                written.append(export_markdown(paper, where / "paper.md"))
            if fmt in ("latex", "pdf", "all"):
                res = export_latex_project(paper, where / "latex", bibtex, compile=fmt != "latex")
                written += [p for p in (res.main_tex, res.bib, res.pdf) if p]
                for warning in res.warnings:
                    console.print(f"[yellow]warning:[/] {warning}")
                if fmt != "latex" and res.pdf is None:
                    failed = True
                if res.log_excerpt and res.log is not None:  # the excerpt the warnings point to
                    console.print(f"[bold]LaTeX log excerpt[/] (full log: {res.log}):")
                    console.print(res.log_excerpt, markup=False, highlight=False)
            for path in written:
                out.print(str(path), markup=False, highlight=False)
        if failed:
            console.print(
                "[red]No PDF was produced[/]; main.tex is written: fix it by hand or rerun with --format latex."
            )
            raise typer.Exit(EXIT_FAILED)

    app.add_typer(paper_app)
