"""An uploaded paper as a run's ``document`` record: what the start page's review and detect
forms both begin with; and pasted or uploaded references, read before a generate job starts.

Both are read in a worker process within a time and size budget (``paper.budget``), awaited from
a thread: a PDF bomb or a huge ``.bib`` is refused in its own request, and the event loop goes on
serving every other one meanwhile."""

from __future__ import annotations

import shutil
from typing import Any

from fastapi import UploadFile
from starlette.concurrency import run_in_threadpool

from ..app.sources import PaperSource, store_upload
from ..app.uploads import MAX_PAPER_BYTES, paper_suffix
from ..errors import InputError
from .site import Site, read_upload
from .uploads import safe_filename


async def read_paper_upload(paper: UploadFile | None) -> PaperSource:
    """The uploaded paper (safe name, what its bytes are, the bytes), checked for presence, size
    and type; InputError says what is wrong."""
    if paper is None or not paper.filename:  # no file chosen (an empty file is said to be empty)
        raise InputError("No paper uploaded: choose a PDF, .tex, .md or .txt file.")
    data = await read_upload(paper, MAX_PAPER_BYTES)
    name = safe_filename(paper.filename, "paper")
    return PaperSource.upload(name, data, paper_suffix(data, name))


async def store_document(site: Site, upload: PaperSource, prefix: str, command: str) -> tuple[str, str]:
    """Read ``upload`` as a paper in a new run and store it there; return (run, document key)."""
    return await run_in_threadpool(_store_document, site, upload, prefix, command)


async def read_references(data: bytes, name: str) -> Any:
    """The references in ``data`` (syntax errors as InputError, with file and line: strict), parsed
    in a worker within the read budget."""
    from ..paper.budget import load_references

    return await run_in_threadpool(load_references, data, name, strict=True)


def _store_document(site: Site, upload: PaperSource, prefix: str, command: str) -> tuple[str, str]:
    run = site.new_run(prefix)
    try:
        record = store_upload(upload, site.root / run, command)
    except BaseException:
        # a paper that cannot be read leaves no run behind (it would list in /runs as an empty one)
        shutil.rmtree(site.root / run, ignore_errors=True)
        raise
    return run, str(record.key)


__all__ = ["read_paper_upload", "read_references", "store_document"]
