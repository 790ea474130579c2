"""The per-paper files of a run, as the CLI and the web page write them:
``<run>/papers/<id>/paper.json``, ``paper.md`` and the LaTeX project ``latex/``."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from ..record import Paper, Stage
from .jsonfile import export_json
from .markdown import export_markdown
from .project import export_latex_project, pdf_failure


def export_paper(paper: Paper, run_dir: str | Path, pdf: bool = True) -> dict[str, Any]:
    """The per-paper files of a run, as the CLI and the web page write them:
    ``<run>/papers/<id>/paper.json``, ``paper.md`` and, once the paper is complete (not awaiting real
    results), the LaTeX project ``latex/`` compiled to PDF when ``pdf`` and TeX is installed.
    After a redo of the results the earlier files are kept as ``paper.vN.json``, ``paper.vN.md``,
    ``latex.vN/``."""
    folder = Path(run_dir) / "papers" / str(paper.id)
    folder.mkdir(parents=True, exist_ok=True)
    versions = (paper.meta or {}).get("versions") or []
    if versions:  # results redone: keep the earlier files beside the new ones (paper.v1.json, latex.v1/)
        n = versions[-1].get("version", len(versions))
        for name, kept in (
            ("paper.json", f"paper.v{n}.json"),
            ("paper.md", f"paper.v{n}.md"),
            ("latex", f"latex.v{n}"),
        ):
            if (folder / name).exists() and not (folder / kept).exists():
                (folder / name).rename(folder / kept)
    complete = paper.stage is not Stage.AWAITING_RESULTS
    latex = (
        export_latex_project(paper, folder / "latex", paper.references_bib, compile=pdf) if complete else None
    )
    # the PDF's status goes into paper.json and paper.md, which are therefore written after it
    paper = replace(paper, pdf_status=latex.status if latex and pdf else None)
    export_json(paper, folder / "paper.json", latex)
    export_markdown(paper, folder / "paper.md", latex.figures if latex else None)
    info: dict[str, Any] = {
        "id": paper.id,
        "title": paper.title,
        "dir": str(folder),
        "warnings": len(paper.warnings),
        "pdf": str(latex.pdf) if latex and latex.pdf else None,
        "pdf_error": pdf_failure(latex) if latex and pdf and latex.pdf is None else None,
        "pdf_status": latex.status.label() if latex and pdf else None,
        "results_simulated": paper.results_simulated,
        "ungrounded": None if paper.ungrounded_numbers is None else len(paper.ungrounded_numbers),
        "unresolved_refs": latex.unresolved_refs if latex else [],
    }
    return info


def pdf_problems(folder: str | Path) -> str | None:
    """The line "PDF with problems: <the first>" of a paper's exported files (``export_paper``
    writes the PDF's status into paper.json, not the run store), or None when the PDF is right,
    there is none, or paper.json cannot be read."""
    import json

    try:
        status = (json.loads((Path(folder) / "paper.json").read_text(encoding="utf-8")) or {}).get("pdf_status") or {}
    except (OSError, ValueError, AttributeError):
        return None
    return status.get("label") if isinstance(status, dict) and status.get("state") == "problems" else None


__all__ = ["export_paper", "pdf_problems"]
