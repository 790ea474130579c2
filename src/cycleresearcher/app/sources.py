"""Anything a user gives to be read, as ONE type: ``PaperSource``.

- a path: a .pdf / .tex / .md / .txt / Paper .json file, a LaTeX project folder, a folder of
  papers, or a run folder (its stored papers), expanded by ``paper.batch.iter_documents``;
- an upload: bytes with the file name the browser sent (the web page), saved in a run's
  ``uploads/`` and read like a file of that name, so its paper id is the one the CLI gives it;
- a stored record of a run (``paper`` or ``document``, by key).

``read`` turns a source into the reviewer's input (``review.context.PaperInput``), one per paper,
with each unreadable paper as an ``InputError`` in its place: a batch goes on past a bad file.
Files are read by the readers within the read budget (``paper.budget``: a PDF bomb cannot hold
a batch); what the readers warn about travels in ``PaperInput.warnings`` into the review.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..review.context import PaperInput, paper_id_for, to_paper_input
from .kinds import RecordKind

#: (label, the paper, or why it could not be read)
Read = tuple[str, "PaperInput | InputError"]


@dataclass(frozen=True)
class PaperSource:
    """One thing to read. Build it with ``file``, ``upload`` or ``record``."""

    path: Path | None = None
    #: an upload: the (safe) name the user's file had, what its bytes are (".pdf"...), the bytes
    name: str | None = None
    suffix: str | None = None
    data: bytes | None = field(default=None, repr=False)
    #: a stored record: the run folder, the record's kind and key
    run: Path | None = None
    kind: RecordKind | None = None
    key: str | None = None

    @classmethod
    def file(cls, path: str | os.PathLike[str]) -> PaperSource:
        return cls(path=Path(path))

    @classmethod
    def upload(cls, name: str, data: bytes, suffix: str | None = None) -> PaperSource:
        return cls(name=name, suffix=suffix or Path(name).suffix.lower(), data=data)

    @classmethod
    def record(cls, run: str | os.PathLike[str], kind: RecordKind | str, key: str) -> PaperSource:
        return cls(run=Path(run), kind=RecordKind(kind), key=key)

    @property
    def label(self) -> str:
        if self.path is not None:
            return str(self.path)
        if self.name is not None:
            return self.name
        return f"{self.run}#{self.kind}/{self.key}"

    def read(self, keep_hidden: bool = False) -> list[Read]:
        """Every paper of this source (a folder or a run gives several); errors in their place.
        Hidden text is left out of each text unless ``keep_hidden``."""
        if self.path is not None:
            found = [(label, _input(item, keep_hidden)) for label, item in _documents(self.path, keep_hidden)]
            return found or [(self.label, InputError(_nothing_in(self.path)))]
        if self.data is not None:
            with tempfile.TemporaryDirectory(prefix="cycleresearcher-upload-") as folder:
                return [(self.label, _caught(lambda: self.save_read(Path(folder), keep_hidden)[1]))]
        return [(self.label, _caught(lambda: self._read_record(keep_hidden)))]

    # -- uploads ---------------------------------------------------------------------------------
    def save_read(self, folder: Path, keep_hidden: bool = False) -> tuple[Any, PaperInput]:
        """Save the upload in ``folder`` (as its name's stem and what its bytes are) and read it:
        (the ``paper.readers.Document``, the input). Messages name the upload, never the copy."""
        from ..paper.budget import read_document

        if self.data is None or self.name is None:
            raise InputError("Not an upload: nothing to save.")
        folder.mkdir(parents=True, exist_ok=True)
        stored = folder / (Path(self.name).stem + (self.suffix or Path(self.name).suffix))
        stored.write_bytes(self.data)
        try:
            doc = read_document(stored, keep_hidden=keep_hidden)
        except InputError as exc:
            raise InputError(str(exc).replace(str(stored), self.name)) from exc
        item = to_paper_input(doc)
        item.id, item.source, item.hidden_kept = paper_id_for(self.name, doc.text), self.name, keep_hidden
        return doc, item

    # -- records ---------------------------------------------------------------------------------
    def _read_record(self, keep_hidden: bool) -> PaperInput:
        from .runfolder import RunFolder

        assert self.run is not None and self.kind is not None and self.key is not None
        data = RunFolder(self.run).record(self.kind, self.key)
        if self.kind is RecordKind.DOCUMENT:  # read when it was uploaded: the text is final
            return document_input(self.key, data)
        if self.kind is not RecordKind.PAPER:
            raise InputError(f"A {self.kind} record is not a paper to read. Pick a paper or a document.")
        item = to_paper_input({**data, "id": self.key}, keep_hidden)
        item.hidden_kept = keep_hidden
        return item


def _nothing_in(path: Path) -> str:
    """Why a path gave no paper at all (a file always gives one, or the reason it could not)."""
    from ..store import is_run_dir

    if is_run_dir(path):
        return f"{path}: this run holds no stored paper (a run of `research generate` does). Pass the papers themselves."
    return (
        f"{path}: no papers found in this folder (.pdf, .tex, .md, .txt, .json). "
        "Pass the papers, or a folder that holds them."
    )


def _documents(path: Path, keep_hidden: bool) -> list[tuple[str, Any]]:
    from ..paper.batch import iter_documents

    return list(iter_documents([path], keep_hidden))


def _input(item: Any, keep_hidden: bool) -> PaperInput | InputError:
    if isinstance(item, InputError):
        return item
    return _caught(lambda: _kept(to_paper_input(item), keep_hidden))


def _kept(item: PaperInput, keep_hidden: bool) -> PaperInput:
    item.hidden_kept = keep_hidden  # read here, with this setting
    return item


def _caught(read: Any) -> PaperInput | InputError:
    try:
        return read()
    except InputError as exc:
        return exc


# -- the document record: an upload as read, stored in its run -------------------------------------


def document_record(doc: Any, filename: str) -> dict[str, Any]:
    """What a ``document`` record holds: the upload's read text and what the reader found."""
    return {
        "filename": filename,
        "kind": doc.kind,
        "title": doc.title,
        "text": doc.text,
        "warnings": list(doc.warnings),
        "bibtex": doc.bibtex,
        "hidden": [h.to_dict() for h in doc.hidden],
    }


def document_input(key: str, data: dict[str, Any]) -> PaperInput:
    """A stored ``document`` record as the reviewer's input (its key is its paper id)."""
    from ..paper.hidden import HiddenText

    return PaperInput(
        key,
        str(data.get("text") or ""),
        str(data.get("title") or ""),
        data.get("filename"),
        data.get("bibtex"),
        list(data.get("warnings") or []),
        [HiddenText.from_dict(h) for h in data.get("hidden") or [] if isinstance(h, dict)],
    )


def store_upload(source: PaperSource, run: Path, command: str) -> PaperSource:
    """Save an upload in ``run/uploads/``, read it and keep it as the run's ``document`` record
    (what the page's review and detect forms start from); the record's source is returned."""
    from ..store import RunStore

    doc, item = source.save_read(run / "uploads")
    with RunStore(run) as store:
        store.set_meta("command", command)
        store.put(str(RecordKind.DOCUMENT), item.id, document_record(doc, item.source or ""))
    return PaperSource.record(run, RecordKind.DOCUMENT, item.id)


def read_all(sources: list[PaperSource], keep_hidden: bool = False) -> tuple[list[PaperInput], list[tuple[str, str]]]:
    """The readable papers of every source, in order, and (label, message) for each unreadable one."""
    papers: list[PaperInput] = []
    unreadable: list[tuple[str, str]] = []
    for source in sources:
        for label, item in source.read(keep_hidden):
            if isinstance(item, InputError):
                unreadable.append((label, str(item)))
            else:
                papers.append(item)
    return papers, unreadable


def failure_line(source: str | None, error: str) -> str:
    """``source: error``, naming the source once (a reader's message often starts with it)."""
    return error if source and source in error else f"{source}: {error}"


def nothing_readable(failures: Sequence[tuple[str | None, str]]) -> str:
    """The bad-input message when no input could be read (``review``, ``detect``): one line per
    (source, error), under a head line when there are several."""
    lines = [failure_line(source, error) for source, error in failures]
    if not lines:
        return "No paper was given. Pass .pdf, .tex, .md, .txt or Paper .json files, or folders holding them."
    if len(lines) == 1:
        return lines[0]
    return f"None of the {len(lines)} inputs could be read:\n" + "\n".join(f"  {line}" for line in lines)


__all__ = [
    "PaperSource", "document_input", "document_record", "failure_line", "nothing_readable", "read_all",
    "store_upload",
]
