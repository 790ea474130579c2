"""Many paths as Documents: files, folders (walked) and run directories (their stored papers).

A run directory is read here, not in ``readers``, because it is only ever met while expanding
a batch of paths: a folder holding ``run.sqlite`` yields the papers its run store holds. Every
error is yielded in place of its paper, so a batch goes on past a bad file.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from ..errors import InputError
from .budget import read_documents  # in a worker, within the read budget: a PDF bomb cannot hold a batch
from .latex_project import project_main
from .readers import EXTENSIONS, Document, paper_document, read_latex_folder


def _run_dir_documents(
    folder: Path, keep_hidden: bool = False
) -> Iterator[tuple[str, Document | InputError]]:
    from ..errors import StoreError
    from ..store import RunStore

    try:
        with RunStore(folder, readonly=True) as store:  # an input: read-only media must do
            items = store.items("paper")
    except StoreError as exc:  # a damaged run: one line, and the batch goes on
        yield str(folder), InputError(str(exc))
        return
    for key, data in items:
        label = f"{folder}#paper/{key}"
        try:
            yield label, paper_document(data, label, keep_hidden)
        except InputError as exc:
            yield label, exc


def iter_documents(
    paths: Iterable[str | os.PathLike[str]], keep_hidden: bool = False
) -> Iterator[tuple[str, Document | InputError]]:
    """(label, Document or InputError) for every paper under ``paths``.

    Folders are walked (sorted, hidden entries skipped) for the known extensions; a folder holding
    ``run.sqlite`` is a run directory and yields its stored papers; a LaTeX project folder
    (``latex_project.project_main``) is one paper, read from its main file. Errors are yielded, not
    raised, so a batch continues past a bad file. Hidden text is left out unless ``keep_hidden``.
    """
    from ..store import is_run_dir

    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            if is_run_dir(p):
                yield from _run_dir_documents(p, keep_hidden)
                continue
            for dirpath, dirnames, filenames in os.walk(p):
                dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
                here = Path(dirpath)
                if here != p and is_run_dir(here):
                    dirnames[:] = []
                    yield from _run_dir_documents(here, keep_hidden)
                    continue
                if here.resolve().is_relative_to(p.resolve()) and project_main(here) is not None:
                    # a LaTeX project is one paper: its sections, figure PDFs and notes are not papers
                    dirnames[:] = []
                    yield from _project_documents(here, keep_hidden)
                    continue
                for name in sorted(filenames):
                    if name.startswith(".") or Path(name).suffix.lower() not in EXTENSIONS:
                        continue
                    try:
                        real = (here / name).resolve()
                    except (OSError, RuntimeError):  # a symbolic link loop
                        yield (
                            str(here / name),
                            InputError(f"{here / name}: is a symbolic link loop; skipped."),
                        )
                        continue
                    if not real.is_relative_to(
                        p.resolve()
                    ):  # a folder from elsewhere may hold links to ~/.ssh
                        yield (
                            str(here / name),
                            InputError(
                                f"{here / name}: is a symbolic link to {real}, outside the folder {p}; skipped. "
                                "Pass the file itself if you mean to read it."
                            ),
                        )
                        continue
                    yield from _file_documents(here / name, keep_hidden)
        else:
            yield from _file_documents(p, keep_hidden)


def _project_documents(
    folder: Path, keep_hidden: bool = False
) -> Iterator[tuple[str, Document | InputError]]:
    try:
        doc = read_latex_folder(folder, keep_hidden)
    except InputError as exc:
        yield str(folder), exc
        return
    if doc is not None:
        yield doc.path, doc


def _file_documents(p: Path, keep_hidden: bool = False) -> Iterator[tuple[str, Document | InputError]]:
    try:
        docs = read_documents(p, keep_hidden)
    except InputError as exc:
        yield str(p), exc
        return
    for d in docs:
        yield d.path, d


__all__ = ["iter_documents"]
