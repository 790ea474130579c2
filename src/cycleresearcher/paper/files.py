"""Reading paper files safely: regular files only, UTF-8, and a LaTeX project's files only from
inside its folder.

A FIFO or a device given as a paper would block the reader for ever, and a ``\\input`` or a
symbolic link may point anywhere on the disk (``~/.ssh``): both are refused with a message
that says what the path is.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from ..errors import InputError


def not_regular(mode: int) -> str | None:
    """What a non-regular file is ('a named pipe (FIFO)', ...), or None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    kinds = [
        (stat.S_ISFIFO, "a named pipe (FIFO)"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISDIR, "a folder"),
    ]
    return next((what for test, what in kinds if test(mode)), "not a regular file")


def read_bytes(path: Path) -> bytes:
    """The bytes of a regular file. Anything else is refused before it is opened: reading a FIFO
    blocks for ever and a device never ends. The file is opened non-blocking and checked again
    (fstat), so one swapped in after the check cannot hang the reader either."""
    try:
        what = not_regular(os.stat(path).st_mode)
        if what is None:
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
            with os.fdopen(fd, "rb") as f:
                what = not_regular(os.fstat(f.fileno()).st_mode)
                if what is None:
                    return f.read()
    except OSError as exc:
        raise InputError(
            f"{path}: cannot read the file ({exc.strerror}). Check the path and its permissions."
        ) from exc
    raise InputError(f"{path}: is {what}, not a regular file; nothing was read. Pass the paper file itself.")


def read_utf8(path: Path) -> str:
    data = read_bytes(path)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{path}: not UTF-8 text (invalid byte 0x{data[exc.start]:02x} at offset {exc.start}). "
            f"Re-save it as UTF-8, e.g. iconv -f latin1 -t utf-8 '{path}' > fixed{path.suffix}"
        ) from exc
    return text


def project_file(path: Path, root: Path) -> tuple[Path | None, str]:
    """(the real path, '') of a file that may be read as part of the project in ``root``, or
    (None, why not): the path is resolved, symbolic links included, before the folder check, and
    only a regular file inside ``root`` passes (a FIFO would hang the reader)."""
    try:
        real = path.resolve()
    except (OSError, RuntimeError):  # a symbolic link loop (Python 3.11 raises RuntimeError)
        return None, "is a symbolic link loop"
    if not real.is_relative_to(root):
        if Path(os.path.abspath(path)).is_relative_to(root):  # inside by name: a link leads out
            return None, f"is a symbolic link to {real}, outside the project folder {root}"
        return None, f"points outside the project folder {root}"
    try:
        what = not_regular(os.stat(real).st_mode)
    except OSError:
        return None, "not found"
    return (real, "") if what is None else (None, f"is {what}, not a regular file")


__all__ = ["not_regular", "project_file", "read_bytes", "read_utf8"]
