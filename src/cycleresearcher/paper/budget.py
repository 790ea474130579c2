"""Reading untrusted files within a budget: in a worker process, with a time and a size limit.

A 14 KB PDF can hold one compressed stream of 5 MB of text operators shared by twenty pages; pypdf
then spends seconds a page extracting it, and a 5 MB ``.bib`` takes the references parser seconds
too. Read in place, such a file froze the web server (its event loop) and held a CLI batch with no
word. Here the reading runs in a child process (``read_worker``, kept for the next read, so only
the first read pays for starting it): past ``seconds`` the child is killed and the file refused
with a line that says how to allow more; a PDF whose page contents decompress to more than
``max_bytes`` in all is refused before any text is extracted. Ctrl-C kills the child too.

The budget comes from the caller, else from ``CYCLERESEARCHER_READ_SECONDS`` and
``CYCLERESEARCHER_READ_MAX_MB`` (how a CLI user raises it), else the defaults below.
"""

from __future__ import annotations

import os
import pickle
import select
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InputError
from .read_worker import HEADER, write_message

#: defaults: a 300-page real paper reads in a few seconds and its pages hold a few MB of content
DEFAULT_SECONDS = 60.0
DEFAULT_MAX_MB = 64
SECONDS_ENV = "CYCLERESEARCHER_READ_SECONDS"
MAX_MB_ENV = "CYCLERESEARCHER_READ_MAX_MB"


@dataclass(frozen=True)
class ReadBudget:
    """How long one file may take to read, and how many bytes a PDF's pages may decompress to."""

    seconds: float = DEFAULT_SECONDS
    max_bytes: int = DEFAULT_MAX_MB * 2**20

    @classmethod
    def from_env(cls) -> ReadBudget:
        def number(name: str, default: float) -> float:
            raw = os.environ.get(name, "").strip()
            try:
                value = float(raw) if raw else default
            except ValueError:
                raise InputError(f"{name}={raw!r} is not a number. Set it to a positive number.") from None
            if value <= 0:
                raise InputError(f"{name} must be positive, got {raw}.")
            return value

        return cls(number(SECONDS_ENV, DEFAULT_SECONDS), int(number(MAX_MB_ENV, DEFAULT_MAX_MB) * 2**20))


class _Worker:
    """One ``read_worker`` child process, reused for read after read until it is killed."""

    def __init__(self) -> None:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}  # our imports
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "cycleresearcher.paper.read_worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
        )

    def call(self, target: str, args: tuple[Any, ...], deadline: float) -> tuple[str, Any] | None:
        """The worker's answer, or None when ``deadline`` passed first."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        write_message(self.proc.stdin, (target, args))
        fd = self.proc.stdout.fileno()
        header = self._read(fd, HEADER, deadline)
        if header is None:
            return None
        body = self._read(fd, int.from_bytes(header, "big"), deadline + 30)  # already sending
        return None if body is None else pickle.loads(body)

    @staticmethod
    def _read(fd: int, n: int, deadline: float) -> bytes | None:
        parts, got = [], 0
        while got < n:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                return None
            part = os.read(fd, min(n - got, 1 << 20))
            if not part:
                raise EOFError
            parts.append(part)
            got += len(part)
        return b"".join(parts)

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait()


#: idle workers, ready for the next read (a read takes one; a killed one is not put back)
_IDLE: list[_Worker] = []
_IDLE_LOCK = threading.Lock()
_KEEP_IDLE = 2


def run_bounded(target: str, *args: Any, what: str, seconds: float) -> Any:
    """``module:function(*args)`` run in a worker process and its value, within ``seconds``;
    ``InputError`` naming ``what`` when it takes longer (the worker is killed), fails or dies."""
    if os.name == "nt":  # no select() on pipes: read in place, without the budget
        from .read_worker import answer as here

        return _unpack(here(target, args), what)
    with _IDLE_LOCK:
        worker = _IDLE.pop() if _IDLE else None
    worker = worker or _Worker()
    answer = None
    try:
        answer = worker.call(target, args, time.monotonic() + seconds)
    except (EOFError, OSError, pickle.UnpicklingError):
        worker.kill()
        raise InputError(
            f"{what}: the reader stopped without an answer (exit code {worker.proc.returncode}); the "
            "file is probably malformed. Pass another copy of it."
        ) from None
    finally:
        if answer is None and worker.proc.poll() is None:  # out of time, or Ctrl-C
            worker.kill()
    if answer is None:
        raise InputError(
            f"{what}: reading it took longer than {seconds:g} s, so it was stopped (a very large file, "
            "or one built to be slow to read, such as a PDF whose pages decompress to huge content). "
            f"Pass a smaller or simpler file, or allow more time with {SECONDS_ENV}=SECONDS."
        )
    with _IDLE_LOCK:
        if len(_IDLE) < _KEEP_IDLE:
            _IDLE.append(worker)
            worker = None  # type: ignore[assignment]
    if worker is not None:
        worker.kill()
    return _unpack(answer, what)


def _unpack(answer: tuple[str, Any], what: str) -> Any:
    status, value = answer
    if status == "ok":
        return value
    if status == "input":
        raise InputError(value if value.startswith(what) else f"{what}: {value}")
    raise InputError(f"{what}: could not be read ({value}). Pass another copy of the file.")


def pdf_content_bytes(path: str | os.PathLike[str], limit: int) -> int:
    """Bytes the pages' content streams decompress to, all pages together (a stream shared by
    several pages counts once a page: text extraction reads it once a page); InputError as soon
    as the sum passes ``limit``."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(path)
        total = 0
        for number, page in enumerate(reader.pages, 1):
            contents = page.get("/Contents")
            contents = contents.get_object() if contents is not None else None
            streams = contents if isinstance(contents, list) else [contents] if contents is not None else []
            for stream in streams:
                total += len(stream.get_object().get_data())
                if total > limit:
                    raise InputError(
                        f"{path}: its pages decompress to more than {limit / 2**20:.0f} MB of content "
                        f"(passed at page {number} of {len(reader.pages)}; a compressed 'PDF bomb'?), so "
                        f"it was not read. Allow more with {MAX_MB_ENV}=MB if the file is genuine."
                    )
    except InputError:
        raise
    except (PdfReadError, OSError, ValueError, KeyError, AttributeError, TypeError):
        return -1  # the reader says what is wrong with the file
    return total


def read_checked(path: str, max_bytes: int, keep_hidden: bool = False, cwd: str | None = None) -> list[Any]:
    """In the worker: the size check (PDFs), then the ordinary readers. ``cwd``: the caller's, so
    a relative path names the same file (a reused worker keeps the folder it was started in)."""
    from .readers import read_documents

    if cwd is not None:
        os.chdir(cwd)
    if Path(path).suffix.lower() == ".pdf":
        pdf_content_bytes(path, max_bytes)
    return read_documents(path, keep_hidden)


def read_documents(
    path: str | os.PathLike[str], keep_hidden: bool = False, budget: ReadBudget | None = None
) -> list[Any]:
    """``readers.read_documents(path, keep_hidden)`` within ``budget`` (default:
    ``ReadBudget.from_env()``)."""
    budget = budget or ReadBudget.from_env()
    p = Path(path)
    if not p.is_file():  # the readers' own clear line, without a worker
        from .readers import read_documents as read_now

        return read_now(p, keep_hidden)
    return run_bounded(
        "cycleresearcher.paper.budget:read_checked",
        str(p),
        budget.max_bytes,
        keep_hidden,
        os.getcwd(),
        what=str(p),
        seconds=budget.seconds,
    )


def read_document(
    path: str | os.PathLike[str], budget: ReadBudget | None = None, keep_hidden: bool = False
) -> Any:
    """One paper (``readers.read_document``) within ``budget``."""
    docs = read_documents(path, keep_hidden, budget)
    if len(docs) > 1:
        raise InputError(f"{path}: holds {len(docs)} papers. Use read_documents() for a list.")
    return docs[0]


def load_references(
    data: bytes, name: str, budget: ReadBudget | None = None, *, strict: bool = False
) -> Any:
    """``references.load_references(data, name=name, strict=strict)`` within ``budget``'s time."""
    budget = budget or ReadBudget.from_env()
    return run_bounded(
        "cycleresearcher.paper.budget:_references", data, name, strict, what=name, seconds=budget.seconds
    )


def _references(data: bytes, name: str, strict: bool = False) -> Any:
    from ..references import load_references as load

    return load(data, name=name, strict=strict)


__all__ = [
    "ReadBudget",
    "load_references",
    "pdf_content_bytes",
    "read_document",
    "read_documents",
    "run_bounded",
]
