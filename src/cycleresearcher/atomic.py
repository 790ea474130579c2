"""Files written whole or not at all: a temporary file beside the target, fsync, then a rename.

A kill or a full disk during a plain ``write_text`` leaves half a file that the next reader
trusts (a 2 MB ``reviews/x.json`` of 52 MB, a truncated ``main.pdf``). Here the target keeps its
earlier content until the new one is complete on disk; the temporary file (``.NAME.XXXX.tmp``)
is removed when the write fails, and a full disk raises :class:`~.errors.DiskFullError`, which
says so and what to do. A new file gets the mode a plain ``open`` would give it (0666 less the
umask: mkstemp's 0600 made exported reviews unreadable to a group); a replaced file keeps its mode.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import shutil
import sqlite3
import stat
from pathlib import Path

from .errors import DiskFullError

#: errno values that mean "no room left" (ENOSPC: no space; EDQUOT: over the user's quota)
_FULL = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}


def is_disk_full(exc: BaseException) -> bool:
    """Whether ``exc`` says the disk (or the quota) is full: an OSError or SQLite's own message."""
    if isinstance(exc, OSError) and exc.errno in _FULL:
        return True
    return isinstance(exc, sqlite3.OperationalError) and "disk is full" in str(exc)


def disk_full_error(path: str | os.PathLike[str] | None, exc: BaseException | None = None) -> DiskFullError:
    """The error of a full disk: where, that nothing half-written was kept, and what to do."""
    return DiskFullError(
        f"disk full: no space left to write {path or 'the output'}. Nothing half-written was kept; free "
        "some space on that disk (or pass a folder on another disk with -o), then rerun the same command."
    )


def nearly_full(path: str | os.PathLike[str]) -> bool:
    """Whether the disk holding ``path`` has (almost) no room left: SQLite reports a full disk as a
    "disk I/O error" when the write that failed was its journal's."""
    folder = Path(path)
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    try:
        return shutil.disk_usage(folder).free < 256 * 1024
    except OSError:
        return False


def write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (the parent folder must exist)."""
    target = Path(path)
    fd, tmp = _temp_file(target)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if is_disk_full(exc):
            raise disk_full_error(target, exc) from exc
        raise
    _sync_dir(target.parent)
    return target


def _temp_file(target: Path) -> tuple[int, Path]:
    """A new temporary file beside ``target`` (``.NAME.XXXX.tmp``), opened for writing, with the
    mode ``target`` will keep: its own when it exists, else 0666 less the umask (applied by the
    kernel to the ``os.open`` mode, so the umask is never changed, not even for a moment)."""
    try:
        keep: int | None = stat.S_IMODE(os.stat(target).st_mode)
    except OSError:
        keep = None
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)
    for _ in range(100):
        tmp = target.parent / f".{target.name}.{secrets.token_hex(4)}.tmp"
        try:
            fd = os.open(tmp, flags, 0o666)
        except FileExistsError:
            continue
        except OSError as exc:
            if is_disk_full(exc):
                raise disk_full_error(target, exc) from exc
            raise
        if keep is not None:  # on failure (e.g. a setgid bit we may not set) the umask's mode stays
            with contextlib.suppress(OSError):
                os.chmod(tmp, keep)
        return fd, tmp
    raise FileExistsError(errno.EEXIST, "no free temporary file name", str(target.parent))


def write_text(path: str | os.PathLike[str], text: str, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` atomically."""
    return write_bytes(path, text.encode(encoding))


def _sync_dir(folder: Path) -> None:
    """Make the rename itself durable (a crash right after could otherwise undo it)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:  # some file systems refuse fsync on a folder; the rename is still atomic
        pass
    finally:
        os.close(fd)


__all__ = ["disk_full_error", "is_disk_full", "nearly_full", "write_bytes", "write_text"]
