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
    #: the PDF's status line ("yes", "PDF with problems: ...", "no: ..."); None when none was asked
    pdf_status: str | None = None


@dataclass
class ExportResult:
    papers: list[Exported]

    @property
    def failed(self) -> bool:
        return any(p.pdf_failed for p in self.papers)


def read_source(path: str) -> str:
    """The text of a file the user named, or InputError saying what to pass instead."""
    p = Path(path)
    if p.is_dir():
        raise InputError(_folder_given(p))
    if not p.is_file():
        raise InputError(f"{path}: no such file. Pass the raw generated text or a Paper JSON file.")
    return p.read_text(encoding="utf-8", errors="replace")


def _folder_given(p: Path) -> str:
    """A folder is no paper: for a run folder, name its papers' paper.json files."""
    from ..store import is_run_dir

    if is_run_dir(p):
        ids = sorted(q.parent.name for q in (p / "papers").glob("*/paper.json"))
        which = f" (its papers: {', '.join(ids[:5])}{', ...' if len(ids) > 5 else ''})" if ids else ""
        return f"{p} is a run folder, not a file: pass one of its papers, {p / 'papers' / '<id>' / 'paper.json'}{which}."
    return f"{p} is a folder, not a file. Pass the raw generated text or a Paper JSON file."


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
                "truncated. Rerun the command that wrote it with the same options (research generate ... "
                "--resume -o RUN, or research complete RUN --results ...: both rewrite stale files from the "
                "run store), or pass an intact Paper JSON."
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
        # "Unterminated string starting at" already ends in "at"
        return f"{exc.msg.removesuffix(' at')} at line {exc.lineno} column {exc.colno}"
    return str(exc).splitlines()[0][:200]


def export_papers(request: ExportRequest, report: Report) -> ExportResult:
    """Each paper of ``request.source`` exported into ``out`` (``out/paper-NNN`` for a list)."""
    if request.formats not in FORMATS:
        raise InputError(f"--format {request.formats!r} is not one of {', '.join(FORMATS)}.")
    papers = load_papers(request.source)
    for paper in papers:
        why = not_a_paper(paper)
        if why:  # exported all the same (as raw output), but not silently
            report.warn(f"{request.source}: {why}")
    bibtex = read_bib(request.bib, report) if request.bib else None
    source = Path(request.source)
    base = Path(writable_dir(request.out or source.with_name(source.stem + "-export")))
    done = []
    report.step("exporting", len(papers))
    for i, paper in enumerate(papers):
        where = base if len(papers) == 1 else base / f"paper-{i + 1:03d}"
        done.append(_export_one(paper, where, request.formats, bibtex, report))
        report.advance()
    return ExportResult(done)


def not_a_paper(paper: Paper) -> str | None:
    """Why the text read is no paper (the export will be untitled, the text shown as raw model
    output), or None: one of our own exports fed back (a paper.md), or no title and no LaTeX."""
    from ..paper.export import DISCLOSURE

    flat = " ".join(paper.generated_text.split())
    if DISCLOSURE in flat:
        return (
            "this is one of our exports (it carries the AI-generated notice), not the model's raw output; "
            "export the paper.json beside it instead"
        )
    if not paper.title and not paper.latex:
        return (
            "no title and no LaTeX of a paper found: the export is untitled and shows the text as raw model "
            "output. Pass the model's raw output or a Paper JSON"
        )
    return None


def read_bib(path: str, report: Report) -> str:
    """``--bib`` read as a run reads its references (any format ``references`` reads) and written
    as the run's ``references_bib`` is: cleaned, with no local file path, e-mail, database
    bookkeeping or ``Abstract:`` line (docs/references.md)."""
    from ..references import load_references, to_bibtex

    p = Path(path)
    if p.is_dir() or not p.is_file():
        raise InputError(f"--bib {path}: {'is a folder' if p.is_dir() else 'no such file'}. Pass a .bib file.")
    refs = load_references(p)
    for warning in refs.warnings:
        report.warn(warning)
    return to_bibtex(refs)


def _export_one(paper: Paper, where: Path, fmt: str, bibtex: str | None, report: Report) -> Exported:
    from dataclasses import replace

    from ..paper.export import export_json, export_latex_project, export_markdown

    out = Exported(where)
    res = None
    if fmt in ("latex", "pdf", "all"):
        res = export_latex_project(paper, where / "latex", bibtex, compile=fmt != "latex")
        out.files += [p for p in (res.main_tex, res.bib, res.pdf) if p]
        for warning in res.warnings:
            report.warn(warning)
        out.pdf_failed = fmt != "latex" and res.pdf is None
        if res.log_excerpt and res.log is not None:  # the excerpt the warnings point to
            out.log, out.log_excerpt = res.log, res.log_excerpt
    compiled = res is not None and fmt != "latex"
    # paper.json / paper.md carry this export's PDF status (none when no PDF was asked), not the
    # input record's, so they are written after the PDF
    paper = replace(paper, pdf_status=res.status if compiled and res is not None else None)
    out.pdf_status = paper.pdf_status.label() if paper.pdf_status else None
    if fmt in ("json", "all"):
        out.files.insert(0, export_json(paper, where / "paper.json", res))
    if fmt in ("md", "all"):
        md = export_markdown(paper, where / "paper.md", res.figures if res else None)
        out.files.insert(1 if fmt == "all" else 0, md)
    return out


__all__ = [
    "FORMATS", "ExportRequest", "ExportResult", "Exported", "export_papers", "load_papers", "not_a_paper",
    "read_bib", "read_source",
]
