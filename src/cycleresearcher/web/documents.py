"""An uploaded paper as a run's ``document`` record: what the start page's review and detect
forms both begin with; and pasted or uploaded references, read before a generate job starts.

Both are read in a worker process within a time and size budget (``paper.budget``), awaited from
a thread: a PDF bomb or a huge ``.bib`` is refused in its own request, and the event loop goes on
serving every other one meanwhile."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import UploadFile
from starlette.concurrency import run_in_threadpool

from ..errors import InputError
from ..store import RunStore
from .site import Site, read_upload
from .uploads import MAX_PAPER_BYTES, paper_suffix, safe_filename


@dataclass(frozen=True)
class Upload:
    name: str  # the safe file name
    suffix: str  # what the bytes are (.pdf, .tex, ...), whatever the name says
    data: bytes


async def read_paper_upload(paper: UploadFile | None) -> Upload:
    """The uploaded paper, checked for presence and size; InputError says what is wrong."""
    data = await read_upload(paper, MAX_PAPER_BYTES)
    if not data:
        raise InputError("No paper uploaded: choose a PDF, .tex, .md or .txt file.")
    name = safe_filename(paper.filename if paper else None, "paper")
    return Upload(name, paper_suffix(data, name), data)


async def store_document(site: Site, upload: Upload, prefix: str, command: str) -> tuple[str, str]:
    """Read ``upload`` as a paper in a new run and store it there; return (run, document key)."""
    return await run_in_threadpool(_store_document, site, upload, prefix, command)


async def read_references(data: bytes, name: str) -> Any:
    """The references in ``data`` (syntax errors as InputError, with file and line: strict), parsed
    in a worker within the read budget."""
    from ..paper.budget import load_references

    return await run_in_threadpool(load_references, data, name, strict=True)


def _store_document(site: Site, upload: Upload, prefix: str, command: str) -> tuple[str, str]:
    from ..paper.budget import read_document
    from ..review.context import paper_id_for

    run = site.new_run(prefix)
    folder = site.root / run / "uploads"
    folder.mkdir(exist_ok=True)
    stored = folder / (Path(upload.name).stem + upload.suffix)
    stored.write_bytes(upload.data)
    try:
        doc = read_document(stored)
    except InputError as exc:
        raise InputError(str(exc).replace(str(stored), upload.name)) from exc
    key = paper_id_for(upload.name, doc.text)
    with RunStore(site.root / run) as store:
        store.set_meta("command", command)
        store.put(
            "document",
            key,
            {
                "filename": upload.name,
                "kind": doc.kind,
                "title": doc.title,
                "text": doc.text,
                "warnings": doc.warnings,
                "bibtex": doc.bibtex,
                "hidden": [h.to_dict() for h in doc.hidden],
            },
        )
    return run, key


__all__ = ["Upload", "read_paper_upload", "read_references", "store_document"]
