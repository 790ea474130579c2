"""What the reviewer sees: any paper input as text, fitted into the reviewer's context window.

The fitting rule (also in docs/reviewing.md):

1. The generation budget is the reviewer's ``max_tokens`` but at most half of the context window,
   so a paper always keeps at least half of it (the tiny embedded model has 2,048 tokens; the
   released reviewers 50,000 / 90,000). Lowering it is reported as a warning.
2. If system prompt + paper + generation budget fit, the paper is sent unchanged.
3. Otherwise the paper keeps its head and loses its tail: the longest run of whole paragraphs
   (blocks separated by a blank line) from the start that fits is kept, so the title, the
   abstract and the sections stay in their order and only the last sections (usually references
   and appendices) are dropped. A first paragraph that alone is too long is cut at a line, then a
   word boundary. The result says so: ``truncated=True`` and a warning with the token counts.

Token counts come from ``engine.count_tokens`` (the real tokenizer and chat template where the
engine has one). Nothing here raises for a long paper: a batch never crashes on length.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..engines.base import Engine, Message
from ..errors import InputError
from ..paper.hidden import HiddenText, scan_text

#: tokens kept free besides the generation budget (chat-template tokens the count may miss)
SAFETY_MARGIN = 16


@dataclass
class PaperInput:
    """One paper to review: a stable id, its title, the text the reviewer sees, where it came from."""

    id: str
    text: str
    title: str = ""
    source: str | None = None
    #: BibTeX of the paper's references, when known (the offline retriever answers from it)
    bibtex: str | None = None
    warnings: list[str] = field(default_factory=list)
    #: hidden text found in the paper (``paper.hidden``): out of ``text`` unless it was kept
    hidden: list[HiddenText] = field(default_factory=list)
    #: the hidden text was kept in ``text`` (``--keep-hidden-text``)
    hidden_kept: bool = False


@dataclass
class FittedPaper:
    """The paper text as sent, and what the fitting did to it."""

    text: str
    truncated: bool
    paper_tokens: int
    kept_tokens: int
    max_tokens: int
    context_length: int
    warnings: list[str] = field(default_factory=list)


def _slug(text: str, limit: int = 48) -> str:
    s = re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower()
    return s[:limit].strip("-") or "paper"


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def paper_id_for(label: str | None, text: str) -> str:
    """A stable id: the stored key for a paper of a run directory (``dir#paper/KEY``), else the
    file name plus a short content hash (two files called ``paper.tex`` stay apart)."""
    if label and "#paper/" in label:
        return label.rsplit("#paper/", 1)[1]
    if label:
        base, _, index = label.partition("#")
        stem = _slug(Path(base).stem) + (f"-{index}" if index else "")
        return f"{stem}-{_digest(text)[:8]}"
    return f"paper-{_digest(text)[:12]}"


def _looks_like_path(value: str) -> bool:
    return len(value) < 4096 and "\n" not in value and os.path.exists(value)


def to_paper_input(paper: Any, keep_hidden: bool = False) -> PaperInput:
    """Accept a PaperInput, a ``paper.readers.Document``, a Paper (object or dict), a path, or text.
    Whatever is read here goes through the readers' hidden-text scan (``paper.hidden``): hidden
    text is left out of the text the reviewer reads unless ``keep_hidden``."""
    from ..paper.readers import Document, paper_document, read_document

    if isinstance(paper, PaperInput):
        return paper
    if isinstance(paper, os.PathLike) or (isinstance(paper, str) and _looks_like_path(paper)):
        paper = read_document(paper, keep_hidden)
    if isinstance(paper, Document):
        return PaperInput(
            paper_id_for(paper.path, paper.text),
            paper.text,
            paper.title,
            paper.path,
            paper.bibtex,
            list(paper.warnings),
            list(paper.hidden),
        )
    if isinstance(paper, str):
        if not paper.strip():
            raise InputError(
                "The paper text is empty. Pass the paper's LaTeX / text, a file path, or a Paper."
            )
        return _text_input(paper, None, None, None, keep_hidden)
    if not isinstance(paper, dict) and hasattr(paper, "to_dict"):  # a Paper object
        paper = paper.to_dict()
    if isinstance(paper, dict):
        explicit = paper.get("id") or paper.get("paper_id") or paper.get("paperId")
        if "text" in paper and not any(k in paper for k in ("latex", "generated_text")):
            text = str(paper.get("text") or "")
            if not text.strip():
                raise InputError("The paper dict has an empty 'text'. Pass a non-empty paper.")
            return _text_input(text, explicit, paper.get("title"), paper.get("bibtex"), keep_hidden)
        doc = paper_document(paper, str(explicit or "paper"), keep_hidden)
        return PaperInput(
            str(explicit) if explicit else paper_id_for(None, doc.text),
            doc.text,
            doc.title or _title_of(doc.text),
            None,
            doc.bibtex,
            hidden=list(doc.hidden),
        )
    raise InputError(
        f"Cannot review a {type(paper).__name__}. Pass paper text, a file path, a Paper (or its dict), or a paper.readers.Document."
    )


def _text_input(text: str, explicit: Any, title: Any, bibtex: Any, keep_hidden: bool) -> PaperInput:
    """Paper text given as it is: LaTeX is scanned as LaTeX, anything else for invisible characters."""
    from ..paper.hidden_latex import scan_latex_text

    looks_latex = "\\" in text and re.search(r"\\(?:title|section|begin|textcolor|color)\b", text)
    shown, hidden = (scan_latex_text if looks_latex else scan_text)(text, "text", keep_hidden)
    pid = str(explicit) if explicit else paper_id_for(None, text)
    return PaperInput(pid, shown, str(title or "") or _title_of(shown), None, bibtex, hidden=hidden)


def _title_of(text: str) -> str:
    m = re.search(r"\\title\{([^}]*)\}", text)
    if m:
        return re.sub(r"\s+", " ", m.group(1)).strip()
    m = re.search(r"^#\s+(.+)$", text, re.M)
    if m:
        return m.group(1).strip()
    for line in text.splitlines():
        if line.strip():
            return line.strip()[:120]
    return ""


def _count(engine: Engine, system: str | None, history: list[Message], text: str) -> int:
    messages: list[Message] = (
        [{"role": "system", "content": system}] if system is not None else []
    ) + history
    return engine.count_tokens(messages + [{"role": "user", "content": text}])


def fit_paper(
    engine: Engine,
    system: str | None,
    text: str,
    *,
    max_tokens: int,
    context_length: int,
) -> FittedPaper:
    """Fit ``text`` (the user turn) after ``system`` into ``context_length`` tokens, leaving room
    for ``max_tokens`` of generation. See the module docstring for the rule."""
    warnings: list[str] = []
    gen = max_tokens
    if gen > context_length // 2:
        gen = max(1, context_length // 2)
        warnings.append(
            f"max_tokens lowered from {max_tokens} to {gen} so that the paper keeps half of the {context_length}-token context"
        )
    budget = context_length - gen - SAFETY_MARGIN
    total = _count(engine, system, [], text)
    if total <= budget:
        return FittedPaper(text, False, total, total, gen, context_length, warnings)

    def fits(candidate: str) -> bool:
        return _count(engine, system, [], candidate) <= budget

    kept = _longest_prefix(text, fits)
    kept_tokens = _count(engine, system, [], kept) if kept else _count(engine, system, [], "")
    n_blocks = len(_blocks(text))
    n_kept = len(_blocks(kept)) if kept else 0
    warnings.append(
        f"paper cut to fit the {context_length}-token context: kept {kept_tokens} of {total} prompt tokens "
        f"({n_kept} of {n_blocks} paragraphs from the start, title/abstract/sections in order); the tail was dropped"
    )
    return FittedPaper(kept, True, total, kept_tokens, gen, context_length, warnings)


_BLOCK_SPLIT = re.compile(r"\n[ \t]*\n")


def _blocks(text: str) -> list[str]:
    return [b for b in _BLOCK_SPLIT.split(text) if b.strip()]


def _prefix_ends(text: str, pattern: re.Pattern[str]) -> list[int]:
    """Offsets where a prefix may end: just before each separator match, and the end of text."""
    ends = [m.start() for m in pattern.finditer(text) if m.start() > 0]
    return sorted(set(ends + [len(text)]))


def _best_end(text: str, ends: list[int], fits) -> int | None:
    """Largest end offset with ``fits(text[:end])`` (binary search; counts are monotone in length)."""
    lo, hi, best = 0, len(ends) - 1, None
    while lo <= hi:
        mid = (lo + hi) // 2
        if fits(text[: ends[mid]]):
            best, lo = ends[mid], mid + 1
        else:
            hi = mid - 1
    return best


def _longest_prefix(text: str, fits) -> str:
    """Longest prefix ending at a paragraph, else a line, else a word boundary, that fits."""
    for pattern in (_BLOCK_SPLIT, re.compile(r"\n"), re.compile(r"\s+")):
        end = _best_end(text, _prefix_ends(text, pattern), fits)
        if end is not None:
            return text[:end].rstrip()
    return ""


__all__ = ["SAFETY_MARGIN", "FittedPaper", "PaperInput", "fit_paper", "paper_id_for", "to_paper_input"]
