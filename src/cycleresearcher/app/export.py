"""Use case ``paper export``: a Paper JSON (one record or a list) or raw generated text written as
JSON, Markdown, a LaTeX project and its PDF, each paper in its own folder.

Every export says the text is AI-generated and flags simulated results (``paper.export``); this
module only reads what the user gave, picks the formats and the folders, and says what came out.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from .. import safejson
from ..errors import InputError
from .report import Report
from .runfolder import writable_dir

if TYPE_CHECKING:
    from ..paper import Paper

FORMATS = ("json", "md", "latex", "pdf", "all")


@dataclass(frozen=True)
class ExportRequest:
    source: str  # a Paper JSON (one record or a list) or raw generated text
    formats: str = "all"  # one of FORMATS: latex is the project without compiling, pdf compiles it
    out: str | None = None  # default: next to the source, in <name>-export/
    bib: str | None = None  # BibTeX of the cited references (default: each record's references_bib)


@dataclass
class Exported:
    """One paper's exports."""

    folder: Path
    files: list[Path] = field(default_factory=list)
    #: a PDF was asked for and none came out (main.tex is written)
    pdf_failed: bool = False
    log: Path | None = None  # the full LaTeX log, when it has an excerpt worth reading
    log_excerpt: str = ""


@dataclass
class ExportResult:
    papers: list[Exported]

    @property
    def failed(self) -> bool:
        return any(p.pdf_failed for p in self.papers)


def read_source(path: str) -> str:
    """The text of a file the user named, or InputError saying what to pass instead."""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{path}: no such file. Pass the raw generated text or a Paper JSON file.")
    return p.read_text(encoding="utf-8", errors="replace")


def load_papers(path: str) -> list[Paper]:
    """Paper records from a Paper JSON (one record or a list) or from raw generated text."""
    from ..paper import Paper, parse_paper

    text = read_source(path)
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


def export_papers(request: ExportRequest, report: Report) -> ExportResult:
    """Each paper of ``request.source`` exported into ``out`` (``out/paper-NNN`` for a list)."""
    if request.formats not in FORMATS:
        raise InputError(f"--format {request.formats!r} is not one of {', '.join(FORMATS)}.")
    papers = load_papers(request.source)
    bibtex = read_source(request.bib) if request.bib else None
    source = Path(request.source)
    base = Path(writable_dir(request.out or source.with_name(source.stem + "-export")))
    done = []
    report.step("exporting", len(papers))
    for i, paper in enumerate(papers):
        where = base if len(papers) == 1 else base / f"paper-{i + 1:03d}"
        done.append(_export_one(paper, where, request.formats, bibtex, report))
        report.advance()
    return ExportResult(done)


def _export_one(paper: Paper, where: Path, fmt: str, bibtex: str | None, report: Report) -> Exported:
    from ..paper.export import export_json, export_latex_project, export_markdown

    out = Exported(where)
    if fmt in ("json", "all"):
        out.files.append(export_json(paper, where / "paper.json"))
    if fmt in ("md", "all"):
        out.files.append(export_markdown(paper, where / "paper.md"))
    if fmt in ("latex", "pdf", "all"):
        res = export_latex_project(paper, where / "latex", bibtex, compile=fmt != "latex")
        out.files += [p for p in (res.main_tex, res.bib, res.pdf) if p]
        for warning in res.warnings:
            report.warn(warning)
        out.pdf_failed = fmt != "latex" and res.pdf is None
        if res.log_excerpt and res.log is not None:  # the excerpt the warnings point to
            out.log, out.log_excerpt = res.log, res.log_excerpt
    return out


__all__ = ["FORMATS", "ExportRequest", "ExportResult", "Exported", "export_papers", "load_papers", "read_source"]
