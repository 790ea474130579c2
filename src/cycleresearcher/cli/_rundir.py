"""Run directories of the CLI: where a command writes (``-o``), and none left behind by a failed start.

A command that stops before doing any work (a bad .bib, a missing file, a bad option, a model that
does not load) removes the folder it created in this call, so a typo leaves no empty
``runs/research-...`` behind. A folder that existed before, or that holds any finished or failed
request (something ``--resume`` can use), is always kept.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..errors import InputError
from ..store import DB_NAME

#: the files a run store alone leaves: a folder holding only these (and no request) is unused
STORE_FILES = {DB_NAME, f"{DB_NAME}-wal", f"{DB_NAME}-shm", f"{DB_NAME}-journal"}
#: tables whose rows are work done (meta alone is settings, written before any work)
WORK_TABLES = ("requests", "records", "samples")


def default_run_dir(command: str) -> str:
    return f"runs/{command}-{time.strftime('%Y%m%d-%H%M%S')}"


def run_dir(output_dir: str | None, command: str) -> str:
    """``-o`` checked and created, or the default ``runs/<command>-<timestamp>`` (created later)."""
    if output_dir:
        return writable_dir(output_dir)
    return default_run_dir(command)


def writable_dir(path: str | os.PathLike[str], option: str = "-o") -> str:
    """``path`` as a folder we can write into (created if missing), or InputError saying why not."""
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise InputError(f"{option} {p}: is a file, not a folder. Pass a new or existing folder.")
    try:
        p.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(
            f"{option} {p}: cannot create the folder ({exc.strerror or exc}). Pass a folder you can write to."
        ) from None
    if not os.access(p, os.W_OK | os.X_OK):
        raise InputError(f"{option} {p}: the folder is not writable. Pass a folder you can write to.")
    return str(path)


@contextmanager
def new_run_dir(output_dir: str | os.PathLike[str] | None, command: str) -> Iterator[Path]:
    """The run directory of this call (``-o`` or the default), removed again if the body fails
    before any work was stored in it and this call created it (with any parents it created)."""
    path = Path(output_dir) if output_dir else Path(default_run_dir(command))
    created = [p for p in (path, *path.parents) if not p.exists()]  # deepest first
    if output_dir:
        writable_dir(path)
    try:
        yield path
    except BaseException as exc:
        if created and _failed(exc) and unused(path):
            _remove(path, created)
        raise


def _failed(exc: BaseException) -> bool:
    code = getattr(exc, "exit_code", getattr(exc, "code", 1))  # typer.Exit / SystemExit
    return code not in (0, None)


def unused(path: Path) -> bool:
    """No file but the run store, and no request or record in it."""
    if not path.is_dir():
        return not path.exists()
    if any(entry.name not in STORE_FILES for entry in path.iterdir()):
        return False
    db = path / DB_NAME
    if not db.exists():
        return True
    try:
        conn = sqlite3.connect(db, timeout=5)
        try:
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            return not any(
                conn.execute(f"SELECT 1 FROM {t} LIMIT 1").fetchone() for t in WORK_TABLES if t in tables
            )
        finally:
            conn.close()
    except sqlite3.Error:  # not a store we can read: not ours to delete
        return False


def _remove(path: Path, created: list[Path]) -> None:
    for name in STORE_FILES:
        (path / name).unlink(missing_ok=True)
    for folder in created:  # the run folder, then each parent this call made, while empty
        try:
            folder.rmdir()
        except OSError:
            return


def check_resume(directory: Path, resume: bool) -> None:
    """The --resume rule of every command with a run store: an existing run is continued only
    when asked; without --resume the command refuses rather than mix two runs."""
    if (directory / DB_NAME).exists() and not resume:
        raise InputError(
            f"{directory} already holds a run. Add --resume to continue it (finished requests are "
            "reused, failed ones retried), or choose another -o folder."
        )
