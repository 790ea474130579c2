"""What is checked: each paper of a run directory, a Paper JSON, a training-style paper record
(its motivation and idea read from turn 3 of its ``messages``), a paper file (PDF, LaTeX,
Markdown, text), or a bare idea given as text."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .. import safejson
from ..errors import InputError
from ..latex import plain_title
from .records import Subject, Work
from .sources import abstract_of, works_from_bibtex


def subject_from_idea(text: str, label: str = "idea") -> Subject:
    text = text.strip()
    if not text:
        raise InputError("--idea is empty: give the idea as a sentence or a paragraph.")
    return Subject(label=label, idea=text)


def subject_from_paper(paper: Any, label: str) -> Subject:
    """A ``Paper`` (or its dict): title, abstract, motivation, idea and its references."""
    from ..paper.record import Paper

    p = paper if isinstance(paper, Paper) else Paper.from_dict(paper)
    return Subject(
        label=label,
        title=plain_title(p.title),
        abstract=p.abstract.strip(),
        motivation=p.motivation.strip(),
        idea=p.idea.strip(),
        references=works_from_bibtex(p.references_bib, "references"),
        paper_id=p.id,
    )


def subject_from_record(data: dict[str, Any], label: str) -> Subject:
    """A paper record as in the training data: motivation and idea from the assistant's first turn
    (turn 3) when it has ``messages``; references from its ``references`` list."""
    from ..paper.parse import parse_stage1

    motivation = idea = ""
    messages = data.get("messages") if isinstance(data.get("messages"), list) else []
    turn3 = next(
        (m.get("content") for m in messages if isinstance(m, dict) and m.get("role") == "assistant"), ""
    )
    if isinstance(turn3, str) and turn3.strip():
        parsed = parse_stage1(turn3)
        motivation, idea = parsed.motivation.strip(), parsed.idea.strip()
    refs = [
        Work(plain_title(str(r.get("title") or "")), str(r.get("abstract") or "").strip(), str(r.get("year") or ""),
             "references", str(r.get("paperId") or ""))
        for r in data.get("references") or [] if isinstance(r, dict) and (r.get("title") or r.get("abstract"))
    ]  # fmt: skip
    return Subject(
        label=label,
        title=plain_title(str(data.get("title") or "")),
        abstract=str(data.get("abstract") or "").strip(),
        motivation=motivation,
        idea=idea,
        references=refs,
        paper_id=str(data.get("paperId") or data.get("id") or "") or None,
    )


def _json_subjects(path: Path) -> Iterator[Subject]:
    try:
        data = safejson.loads(path.read_text(encoding="utf-8"), str(path))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(
            f"{path}: not readable JSON ({exc}). Pass a paper.json, a run directory or a PDF."
        ) from exc
    items = data["papers"] if isinstance(data, dict) and isinstance(data.get("papers"), list) else data
    items = items if isinstance(items, list) else [items]
    for i, item in enumerate(items):
        label = str(path) if len(items) == 1 else f"{path}#{i}"
        if not isinstance(item, dict):
            raise InputError(f"{label}: expected a paper object, not {type(item).__name__}.")
        if "messages" in item or ("references" in item and "latex" not in item):
            yield subject_from_record(item, label)
        else:
            yield subject_from_paper(item, label)


def iter_subjects(paths: list[Path]) -> Iterator[tuple[Subject, Path | None]]:
    """(subject, run directory or None) for each argument; a run directory gives its papers."""
    from ..paper.readers import read_documents
    from ..store import DB_NAME, RunStore, is_run_dir

    for path in paths:
        if path.is_dir():
            if not is_run_dir(path):
                raise InputError(
                    f"{path} is a folder but not a run directory (no {DB_NAME}). Pass a run, a paper file, "
                    "or the folder as --corpus."
                )
            with RunStore(path, create=False) as store:
                papers = store.items("paper")
            if not papers:
                raise InputError(f"{path}: the run holds no paper. Run `research generate -o {path}` first.")
            for key, data in papers:
                yield subject_from_paper(data, f"{path}#{key}"), path
        elif not path.exists():
            raise InputError(f"{path}: no such file. Pass a run directory, a paper file or --idea TEXT.")
        elif path.suffix.lower() == ".json":
            for subject in _json_subjects(path):
                yield subject, None
        else:
            for doc in read_documents(path):
                refs = works_from_bibtex(doc.bibtex, "references")
                yield Subject(doc.path, doc.title, abstract_of(doc.text), references=refs), None


__all__ = ["iter_subjects", "subject_from_idea", "subject_from_paper", "subject_from_record"]
