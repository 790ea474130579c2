"""The title of a PDF paper: its metadata title, unless that is a placeholder, else the largest
text at the top of the first page (all its lines: a title that spans two lines is one title).

Placeholders seen in real PDFs: an empty title, "Title", "untitled", "Microsoft Word - x.docx",
the file's own name ("REVISED_PAPER" for REVISED_PAPER.pdf), a name with an extension, and
metadata written in the wrong encoding ("electricityâ&#x80;&#x93;heat").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

_PLACEHOLDER_RE = re.compile(
    r"^(?:|title|untitled(?:\s+document)?|no\s+title|paper\s+title|your\s+title(?:\s+here)?|"
    r"document\d*|main|paper|manuscript|draft|microsoft\s+(?:word|powerpoint)\b.*|"
    r".*\.(?:docx?|odt|rtf|pdf|tex|dvi|ps|html?|md))$",
    re.IGNORECASE,
)
_MOJIBAKE_RE = re.compile(r"&#x?[0-9a-f]+;|â€|Ã.|Â|\ufffd", re.IGNORECASE)

#: lines within this share of the largest size belong to the title (small caps are set smaller)
SIZE_SHARE = 0.85
#: only text above this share of the page height can be the title
TOP_SHARE = 0.4
MAX_TITLE_CHARS = 300


def _norm(s: str) -> str:
    return re.sub(r"[\W_]+", " ", s).strip().lower()


def is_placeholder(title: str, file_stem: str = "") -> bool:
    """Whether a metadata title says nothing about the paper."""
    t = title.strip()
    if _PLACEHOLDER_RE.match(t) or _MOJIBAKE_RE.search(t) or sum(c.isalpha() for c in t) < 3:
        return True
    if not re.search(r"\s", t):  # one word: a file or project name ("REVISED_PAPER", "paper_v2")
        return True
    return bool(file_stem) and _norm(t) == _norm(file_stem)


@dataclass
class _Line:
    y: float
    size: float
    text: str


def _page_lines(page: Any) -> tuple[list[_Line], float]:
    pieces: list[tuple[float, float, str]] = []

    def visit(text: str, cm: Any, tm: Any, font: Any, size: float) -> None:
        if text.strip():
            scale = abs(tm[3] * cm[3]) or abs(tm[0] * cm[0]) or 1.0
            pieces.append((tm[5] * cm[3] + cm[5], size * scale, text))

    page.extract_text(visitor_text=visit)
    lines: list[_Line] = []
    for y, size, text in pieces:
        if lines and abs(lines[-1].y - y) <= 2:
            last = lines[-1]
            last.text += text
            last.size = max(last.size, size)
        else:
            lines.append(_Line(y, size, text))
    return lines, float(page.mediabox.height)


def _join(block: list[_Line]) -> str:
    text = ""
    for ln in block:
        part = re.sub(r"\s+", " ", ln.text).strip()
        # a word broken at the line end ('ATTEN-' + 'TION') is one word
        text = text[:-1] + part if re.search(r"[A-Za-z]-$", text) else f"{text} {part}"
    return text.strip()


def page_title(page: Any, file_stem: str = "") -> str:
    """The largest text at the top of a page, all its lines joined ('' when none is found)."""
    try:
        lines, height = _page_lines(page)
    except Exception:  # a font pypdf cannot measure must not stop the reading
        return ""
    top = sorted(
        (ln for ln in lines if ln.y >= TOP_SHARE * height and sum(c.isalpha() for c in ln.text) >= 2),
        key=lambda ln: -ln.y,
    )
    if not top:
        return ""
    largest = max(ln.size for ln in top)
    blocks: list[list[_Line]] = []
    for ln in top:
        if ln.size < SIZE_SHARE * largest:
            blocks.append([])
            continue
        if blocks and blocks[-1] and blocks[-1][-1].y - ln.y <= 2.2 * ln.size:
            blocks[-1].append(ln)
        else:
            blocks.append([ln])
    texts = [_join(b) for b in blocks if b]
    # the block with the most words: a journal's name or a browser's page title printed as
    # large as the title is shorter than the title (and a file name is never the title)
    texts = [t for t in texts if not is_placeholder(t, file_stem)]
    if not texts:
        return ""
    return max(texts, key=lambda t: len(t.split()))[:MAX_TITLE_CHARS]


def same_title(a: str, b: str) -> bool:
    """Two spellings of one title: equal once normalised, one inside the other (a short title),
    or sharing most of their words."""
    x, y = _norm(a), _norm(b)
    if not x or not y:
        return False
    if x == y or (min(len(x), len(y)) >= 12 and (x in y or y in x)):
        return True
    wx, wy = set(x.split()), set(y.split())
    return len(wx & wy) / len(wx | wy) >= 0.7


def pdf_title(meta_title: str, first_page: Any, file_stem: str, fallback: str, page_text: str = "") -> str:
    """The metadata title when a reader sees it too (it matches the first page's title, or stands
    in the first page's text), else the first page's title, else ``fallback``. Metadata no reader
    sees never replaces what the page shows: it may say anything ("IGNORE ALL PREVIOUS
    INSTRUCTIONS ...", ``pdf_hidden.metadata_findings`` lists it)."""
    meta = re.sub(r"\s+", " ", meta_title).strip()
    visible = page_title(first_page, file_stem)
    shown = (visible and same_title(meta, visible)) or (
        len(_norm(meta)) >= 12 and _norm(meta) in _norm(page_text)
    )
    if shown and not is_placeholder(meta, file_stem):
        return meta
    return visible or fallback


__all__ = ["is_placeholder", "page_title", "pdf_title", "same_title"]
