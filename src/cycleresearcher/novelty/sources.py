"""Where the check looks and what it checks: the subjects (a run's papers, a paper file, a training
record, a bare idea) and the works to compare them with (the paper's own references, the user's
corpus: ``.bib`` / ``.bbl`` / paper-record JSON / folders of PDFs and LaTeX projects).

Everything here reads files through the project's own readers (``references.load`` for
bibliographies, ``paper.readers`` for papers), so a corpus reads exactly as ``research generate``
and ``review`` read the same files.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .. import safejson
from ..errors import InputError, ReferencesError
from ..latex import plain_title
from .records import Subject, Work

BIB_SUFFIXES = {".bib", ".bbl"}
PAPER_SUFFIXES = {".pdf", ".tex", ".md", ".txt"}
#: the most characters of a paper's text taken as its abstract when none is marked
ABSTRACT_CHARS = 1500


# -- works -----------------------------------------------------------------------------------------


def works_from_bibtex(text: str | None, source: str) -> list[Work]:
    """The entries of a bibliography (any layout ``references.load`` reads) as works."""
    if not text or not text.strip():
        return []
    from ..references.load import load_references

    try:
        refs = load_references(text if "\n" in text else text + "\n", strict=False, name=source)
    except ReferencesError:
        return []
    return [_work_from_reference(r, source) for r in refs if (r.title or r.abstract)]


def _work_from_reference(ref: Any, source: str) -> Work:
    fields = {k.lower(): v for k, v in (ref.fields or {}).items()}
    return Work(
        title=plain_title(ref.title or ""),
        abstract=_flat(ref.abstract or ""),
        year=str(fields.get("year", "")).strip("{} "),
        source=source,
        key=ref.key or "",
        url=str(fields.get("url", "") or (f"https://doi.org/{fields['doi']}" if fields.get("doi") else "")),
    )


def _work_from_record(data: dict[str, Any], source: str) -> Work | None:
    """A paper record ({title, abstract, year, paperId, ...}) or a Paper JSON as a work."""
    title = plain_title(str(data.get("title") or ""))
    abstract = _flat(str(data.get("abstract") or ""))
    if not title and not abstract:
        return None
    key = data.get("paperId") or data.get("id") or data.get("key") or ""
    return Work(title, abstract, str(data.get("year") or ""), source, str(key), str(data.get("url") or ""))


def works_from_json(path: Path, source: str) -> list[Work]:
    """Paper-record JSON: a record (itself, then its ``references``), a list of records, or a
    Paper JSON written by ``research generate`` (itself)."""
    try:
        data = safejson.loads(path.read_text(encoding="utf-8"), str(path))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(
            f"{path}: not readable JSON ({exc}). Pass .bib, paper-record JSON or a folder."
        ) from exc
    if isinstance(data, dict) and isinstance(data.get("papers"), list):
        data = data["papers"]
    items = data if isinstance(data, list) else [data]
    out: list[Work] = []
    for item in items:
        if not isinstance(item, dict):
            continue
        work = _work_from_record(item, source)
        if work is not None:
            out.append(work)
        for ref in item.get("references") or [] if isinstance(item.get("references"), list) else []:
            if isinstance(ref, dict) and (found := _work_from_record(ref, source)) is not None:
                out.append(found)
    return out


def abstract_of(text: str) -> str:
    """A paper's abstract from its text: the abstract environment, else the text after an
    'Abstract' heading, else its first characters."""
    m = re.search(r"\\begin\{abstract\}(.*?)\\end\{abstract\}", text, re.S)
    if m:
        return _flat(m.group(1))
    m = re.search(r"(?im)^\W*abstract\W*$|\babstract[:.—-]", text)
    if m:
        rest = text[m.end() :]
        stop = re.search(r"(?im)^\W*(?:1\.?\s*|I\.\s*)?introduction\W*$", rest)
        return _flat(rest[: stop.start() if stop else ABSTRACT_CHARS][:ABSTRACT_CHARS])
    body = re.sub(r"\\title\{[^}]*\}", " ", text)
    return _flat(body[:ABSTRACT_CHARS])


def works_from_folder(folder: Path, source: str, warnings: list[str]) -> list[Work]:
    """Every bibliography, paper-record JSON, PDF and LaTeX project under ``folder`` (a LaTeX
    project is read once, from its main file: the ``.tex`` with ``\\documentclass``)."""
    from ..paper.readers import read_documents

    out: list[Work] = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            path = Path(dirpath) / name
            suffix = path.suffix.lower()
            if name.startswith(".") or not path.is_file():
                continue
            label = f"{source}/{path.relative_to(folder).as_posix()}"
            try:
                if suffix in BIB_SUFFIXES:
                    out += works_from_bibtex(path.read_text(encoding="utf-8", errors="replace"), source)
                elif suffix == ".json":
                    out += works_from_json(path, source)
                elif suffix in PAPER_SUFFIXES:
                    if suffix == ".tex" and "\\documentclass" not in path.read_text(errors="replace"):
                        continue  # a section \input by a main file
                    for doc in read_documents(path):
                        title = doc.title or path.stem
                        out.append(Work(title, abstract_of(doc.text), "", source, label))
            except (InputError, OSError) as exc:
                warnings.append(f"{label}: skipped ({exc})")
    return out


def corpus_works(paths: Iterable[str | Path], warnings: list[str]) -> dict[str, list[Work]]:
    """Works per corpus argument (``corpus:<name>``): a ``.bib`` / ``.bbl``, a JSON, a paper file
    or a folder of them."""
    found: dict[str, list[Work]] = {}
    for raw in paths:
        path = Path(raw)
        source = f"corpus:{path.name}"
        if not path.exists():
            raise InputError(f"--corpus {path}: no such file or folder.")
        if path.is_dir():
            works = works_from_folder(path, source, warnings)
        elif path.suffix.lower() in BIB_SUFFIXES:
            works = works_from_bibtex(path.read_text(encoding="utf-8", errors="replace"), source)
        elif path.suffix.lower() == ".json":
            works = works_from_json(path, source)
        elif path.suffix.lower() in PAPER_SUFFIXES:
            works = works_from_folder_file(path, source)
        else:
            raise InputError(f"--corpus {path}: use a .bib, .bbl, .json, a paper file or a folder.")
        if not works:
            warnings.append(f"--corpus {path}: no work with a title or abstract found")
        found.setdefault(source, []).extend(works)
    return found


def works_from_folder_file(path: Path, source: str) -> list[Work]:
    from ..paper.readers import read_documents

    return [
        Work(d.title or path.stem, abstract_of(d.text), "", source, path.name) for d in read_documents(path)
    ]


def dedupe(groups: dict[str, list[Work]], subject: Subject) -> tuple[list[Work], dict[str, int]]:
    """One copy of each work (the first source wins) with the subject itself left out (a paper is
    not prior work to itself), and how many works each source gave (duplicates included, so that
    a service that only confirmed what another found is still named)."""
    own = {w for w in (Work(subject.title).identity(),) if w}
    seen: set[str] = set(own)
    works: list[Work] = []
    counts: dict[str, int] = {}
    for source, items in groups.items():
        for work in items:
            ident = work.identity() or _flat(work.abstract)[:120].lower()
            if not ident or ident in own:
                continue
            counts[source] = counts.get(source, 0) + 1
            if ident not in seen:
                seen.add(ident)
                works.append(work)
    return works, counts


def _flat(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


__all__ = [
    "abstract_of",
    "corpus_works",
    "dedupe",
    "works_from_bibtex",
    "works_from_folder",
    "works_from_json",
]
