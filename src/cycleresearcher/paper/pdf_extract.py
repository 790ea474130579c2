"""A PDF's text as a reviewer should see it: pypdf's text of each page, margin line numbers
removed, running headers and footers dropped, extraction debris cleaned, glued words split, our
own export's marks removed, and the title of the paper.

Why pypdf: benchmarks/real_pdfs.py compares it with pdfminer.six and pypdfium2 on real papers.
pypdfium2 is ten times faster, but it joins a word hyphenated at a line break to the next line's
margin number (``GPT005 2-style``), which no cleaning can undo; pdfminer.six glues words
(``verifiesforensicloggerone``) and puts margin numbers on lines of their own; pypdf keeps each
margin number at a line's edge, where ``pdf_lines`` finds it, and keeps columns apart.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InputError
from .hidden import HiddenText, scan_characters, summary
from .pdf_hidden import metadata_findings, scan_pages
from .pdf_lines import strip_line_numbers
from .pdf_own import is_own_export, strip_own_marks
from .pdf_text import clean_text, strip_running_lines
from .pdf_title import is_placeholder, pdf_title
from .pdf_words import split_glued

#: a PDF page with fewer extracted characters than this counts as having no text layer
MIN_CHARS_PER_PAGE = 20


@dataclass
class PdfText:
    """One PDF's text, cleaned, and what the cleaning did."""

    title: str
    text: str
    pages: int
    warnings: list[str] = field(default_factory=list)
    line_numbers: int = 0  # margin line numbers removed
    split_words: int = 0  # glued runs of letters split into words
    own_export: bool = False  # carries the marks of our own export (removed from `text`)
    own_marks: int = 0
    hidden: list[HiddenText] = field(default_factory=list)  # hidden text found (pdf_hidden)


def page_texts(
    data: bytes, label: str, hidden: list[HiddenText] | None = None, keep_hidden: bool = False
) -> tuple[list[str], object]:
    """The raw text of every page (pypdf) and the reader, or InputError for an unreadable PDF.
    With a ``hidden`` list the pages are scanned for hidden text first (``pdf_hidden``): what is
    found is added to it and, unless ``keep_hidden``, left out of the text."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError, PyPdfError

    try:
        reader = PdfReader(io.BytesIO(data))
        if hidden is not None:
            hidden.extend(scan_pages(reader, keep_hidden))
        pages = [(page.extract_text() or "") for page in reader.pages]
    except (PdfReadError, PyPdfError, OSError, ValueError, KeyError) as exc:  # PyPdfError: its limits
        raise InputError(
            f"{label}: not a readable PDF ({exc}). Check that the file is a complete, unencrypted PDF."
        ) from exc
    if hidden is not None:  # invisible characters, page by page (where they are)
        for i, text in enumerate(pages):
            pages[i], chars = scan_characters(text, f"page {i + 1}", keep_hidden)
            hidden.extend(chars)
    return pages, reader


def _first_line(text: str) -> str:
    return next((ln.strip()[:200] for ln in text.split("\n") if ln.strip()), "")


def extract_pdf(data: bytes, path: Path, keep_hidden: bool = False) -> PdfText:
    """The cleaned text and title of the PDF ``data`` read from ``path``, without its hidden
    text unless ``keep_hidden`` (what was found is in ``hidden`` either way)."""
    hidden: list[HiddenText] = []
    pages, reader = page_texts(data, str(path), hidden, keep_hidden)
    if not pages:
        raise InputError(f"{path}: the PDF has no pages.")
    chars = sum(len(p.strip()) for p in pages)
    if chars < MIN_CHARS_PER_PAGE * len(pages) and hidden and not keep_hidden:
        raise InputError(
            f"{path}: all the PDF's text is hidden ({summary(hidden)}: {hidden[0].line()[:200]}). "
            "A reviewer must not read it; pass the paper's source, or review with --keep-hidden-text."
        )
    if chars < MIN_CHARS_PER_PAGE * len(pages):
        raise InputError(
            f"{path}: the PDF has no text layer ({chars} characters on {len(pages)} pages; a scanned document?). "
            f"Run OCR first, e.g. ocrmypdf '{path}' ocr.pdf, or pass the LaTeX source instead."
        )
    warnings = []
    empty = [i + 1 for i, p in enumerate(pages) if len(p.strip()) < MIN_CHARS_PER_PAGE]
    if empty:
        warnings.append(f"pages without a text layer (skipped): {empty}")
    # line numbers first: they sit at the page edges where running lines are looked for, and the
    # hyphen repair of clean_text needs 'trans-' at the very end of its line
    pages, line_numbers = strip_line_numbers(pages)
    text = clean_text("\n\n".join(strip_running_lines(pages)))
    own = is_own_export(text)
    marks = 0
    if own:
        text, marks = strip_own_marks(text)
    text, split = split_glued(text)
    meta_title = ""
    try:
        meta_title = str(reader.metadata.title or "") if reader.metadata else ""  # type: ignore[attr-defined]
    except Exception:  # broken metadata must not stop the text
        meta_title = ""
    title = pdf_title(meta_title, reader.pages[0], path.stem, _first_line(text), pages[0])  # type: ignore[attr-defined]
    meta = " ".join(meta_title.split())
    hidden += metadata_findings(reader, title, not is_placeholder(meta, path.stem) and title != meta)
    return PdfText(title, text, len(pages), warnings, line_numbers, split, own, marks, hidden)


__all__ = ["MIN_CHARS_PER_PAGE", "PdfText", "extract_pdf", "page_texts"]
