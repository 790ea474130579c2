"""Reading one paper from disk: PDF, LaTeX project, Markdown, plain text and Paper JSON.

One reader shared by review and detection. ``read_document`` turns one file into a
:class:`Document` (``batch.iter_documents`` expands folders and run directories). A LaTeX
project (a main ``.tex`` or its folder) is one paper, read by ``latex_project``.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from .. import safejson
from ..errors import InputError
from ..latex import command_argument, plain_title
from .files import read_bytes, read_utf8
from .hidden import HiddenText, scan_markdown, scan_text
from .hidden_latex import scan_latex_text
from .latex_project import MAX_INCLUDE_DEPTH
from .pdf_extract import MIN_CHARS_PER_PAGE, extract_pdf
from .pdf_own import paper_json_beside, same_paper
from .pdf_text import clean_text

Kind = Literal["pdf", "latex", "markdown", "text", "paper-json"]

EXTENSIONS: dict[str, Kind] = {
    ".pdf": "pdf",
    ".tex": "latex",
    ".latex": "latex",
    ".md": "markdown",
    ".markdown": "markdown",
    ".txt": "text",
    ".text": "text",
    ".json": "paper-json",
}


@dataclass
class Document:
    """One paper as text, whatever file it came from."""

    path: str
    kind: Kind
    title: str
    text: str
    warnings: list[str] = field(default_factory=list)
    bibtex: str | None = None
    #: hidden text found in the file (``paper.hidden``); left out of ``text`` unless kept
    hidden: list[HiddenText] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _require_text(path: Path, text: str, what: str = "text") -> str:
    if not text.strip():
        raise InputError(f"{path}: the file has no {what}. Pass a non-empty paper.")
    return text


def _first_line(text: str) -> str:
    for line in text.split("\n"):
        if line.strip():
            return line.strip()[:200]
    return ""


def _read_pdf(path: Path, keep_hidden: bool = False) -> Document:
    pdf = extract_pdf(read_bytes(path), path, keep_hidden)
    warnings = list(pdf.warnings)
    if pdf.own_export:
        # our own export: the paper.json beside it is the paper itself, exactly (pdf_own.py)
        beside = paper_json_beside(path)
        if beside is not None:
            try:
                doc = paper_document(_paper_list(beside)[0], str(path), keep_hidden)
            except InputError as exc:
                warnings.append(
                    f"{beside.name} beside this CycleResearcher PDF is not usable ({exc}); read the PDF"
                )
            else:
                if same_paper(doc.title, pdf.text):
                    doc.warnings.append(
                        f"a CycleResearcher export: read from {beside} beside it, not from the PDF"
                    )
                    return doc
                warnings.append(
                    f"{beside.name} beside this CycleResearcher PDF holds another paper; read the PDF"
                )
        warnings.append(
            "a CycleResearcher export: its disclosure, page header and unresolved-citation marks "
            "were left out of the text"
        )
    text = _require_text(path, pdf.text)
    return Document(str(path), "pdf", pdf.title, text, warnings, hidden=pdf.hidden)


def _read_latex(path: Path, keep_hidden: bool = False) -> Document:
    from .latex_project import read_project

    return _project_document(read_project(path, keep_hidden=keep_hidden), str(path))


def _project_document(project: Any, label: str) -> Document:
    path = Path(label)
    return Document(
        label,
        "latex",
        project.title,
        _require_text(path, project.text),
        project.warnings,
        project.bibtex,
        project.hidden,
    )


def read_latex_folder(folder: str | os.PathLike[str], keep_hidden: bool = False) -> Document | None:
    """The one paper of a LaTeX project folder (its main file chosen as ``latex_project``
    says), or None when ``folder`` is no LaTeX project (``latex_project.project_main``)."""
    from .latex_project import project_main, read_project

    choice = project_main(Path(folder))
    if choice is None:
        return None
    return _project_document(read_project(choice.main, choice, keep_hidden), str(choice.main))


def _read_markdown(path: Path, keep_hidden: bool = False) -> Document:
    raw = read_utf8(path).replace("\r\n", "\n")
    text, hidden = scan_markdown(raw, path.name, keep_hidden)
    text = _require_text(path, text)
    m = re.search(r"^#\s+(.+)$", text, re.M)
    title = m.group(1).strip() if m else _first_line(text)
    return Document(str(path), "markdown", title, text.strip(), hidden=hidden)


def _read_text(path: Path, keep_hidden: bool = False) -> Document:
    raw, hidden = scan_text(read_utf8(path), path.name, keep_hidden)
    text = _require_text(path, clean_text(raw))
    first = _first_line(text)
    # LaTeX saved as text (e.g. the papers of DeepReviewer's evaluation): the title without \title{}
    title = ""
    if first.startswith("\\title"):
        title = plain_title(command_argument(text, r"title\*?", unclosed=True) or "")
    return Document(str(path), "text", title or first, text, hidden=hidden)


def paper_text(paper: dict[str, Any]) -> str:
    """The text of a Paper dict: its LaTeX, with title and abstract put first when it lacks them."""
    title = str(paper.get("title") or "").strip()
    abstract = str(paper.get("abstract") or "").strip()
    latex = str(paper.get("latex") or "").strip()
    parts = []
    if title and title not in latex:
        parts.append(f"\\title{{{title}}}")
    if abstract and abstract[:80] not in latex:
        parts.append(f"\\begin{{abstract}}\n{abstract}\n\\end{{abstract}}")
    if latex:
        parts.append(latex)
    elif paper.get("generated_text"):
        parts.append(str(paper["generated_text"]).strip())
    return "\n\n".join(parts)


def paper_document(paper: Any, label: str, keep_hidden: bool = False) -> Document:
    """A Paper (its dict) as a Document: its LaTeX scanned for hidden text like any LaTeX
    (``hidden_latex.scan_latex_text``); generated papers reach a reward model this way too."""
    if not isinstance(paper, dict):
        raise InputError(
            f"{label}: expected a Paper object with 'title', 'abstract', 'latex'; got {type(paper).__name__}."
        )
    if not any(k in paper for k in ("latex", "abstract", "generated_text")):
        raise InputError(
            f"{label}: not a Paper JSON (no 'latex', 'abstract' or 'generated_text' key). "
            "Pass a file written by `cycleresearcher research generate`."
        )
    text, hidden = scan_latex_text(paper_text(paper), Path(label).name, keep_hidden)
    if not text.strip():
        raise InputError(f"{label}: the paper is empty (no title, abstract or LaTeX).")
    title = plain_title(str(paper.get("title") or ""))
    return Document(label, "paper-json", title, text, bibtex=paper.get("bibtex"), hidden=hidden)


def _paper_list(path: Path) -> list[Any]:
    try:
        data = safejson.loads(read_utf8(path), str(path))
    except json.JSONDecodeError as exc:
        raise InputError(
            f"{path}: invalid JSON at line {exc.lineno}, column {exc.colno} ({exc.msg}). Fix the file."
        ) from exc
    if isinstance(data, dict) and isinstance(data.get("papers"), list):
        data = data["papers"]
    papers = data if isinstance(data, list) else [data]
    if not papers:
        raise InputError(f"{path}: the JSON list holds no papers.")
    return papers


def read_documents(path: str | os.PathLike[str], keep_hidden: bool = False) -> list[Document]:
    """Every document in one file (a Paper JSON list gives several; anything else gives one).
    Hidden text (``paper.hidden``) is left out of each text unless ``keep_hidden``."""
    p = Path(path)
    kind = EXTENSIONS.get(p.suffix.lower())
    if not p.exists():
        raise InputError(f"{p}: no such file. Check the path.")
    if p.is_dir():
        doc = read_latex_folder(p, keep_hidden)
        if doc is not None:
            return [doc]
        raise InputError(
            f"{p}: is a folder and no LaTeX project (no main .tex file in it that uses other files of "
            "the folder). Use iter_documents() for a folder of papers (the CLI expands folders itself)."
        )
    if kind is None:
        raise InputError(
            f"{p}: unsupported file type '{p.suffix}'. Pass .pdf, .tex, .md, .txt or a Paper .json."
        )
    if kind == "paper-json":
        papers = _paper_list(p)
        if len(papers) == 1:
            return [paper_document(papers[0], str(p), keep_hidden)]
        return [paper_document(x, f"{p}#{i}", keep_hidden) for i, x in enumerate(papers)]
    reader = {"pdf": _read_pdf, "latex": _read_latex, "markdown": _read_markdown, "text": _read_text}[kind]
    return [reader(p, keep_hidden)]


def read_document(path: str | os.PathLike[str], keep_hidden: bool = False) -> Document:
    """One paper from a .pdf, .tex (with its \\input files), .md, .txt or Paper .json file."""
    docs = read_documents(path, keep_hidden)
    if len(docs) > 1:
        raise InputError(
            f"{path}: holds {len(docs)} papers. Use iter_documents() / read_documents() for a list."
        )
    return docs[0]


__all__ = [
    "EXTENSIONS",
    "MAX_INCLUDE_DEPTH",
    "MIN_CHARS_PER_PAGE",
    "Document",
    "Kind",
    "paper_document",
    "paper_text",
    "read_document",
    "read_documents",
    "read_latex_folder",
]
