"""The worker process of ``paper.budget``: ``python -m cycleresearcher.paper.read_worker``.

It imports the readers once, then answers requests on stdin, one at a time, on stdout: each a
length-prefixed pickle, ``(target "module:function", args)`` in, ``(status, value)`` out, where
status is "ok", "input" (a ``CycleResearcherError``'s message) or "error" (a reader's bug, in one
line). A plain child process, not ``multiprocessing``: that would import the parent's
``__main__`` again in the child (a script, a server), which is not ours to run.
"""

from __future__ import annotations

import importlib
import logging
import os
import pickle
import sys
from typing import Any, BinaryIO

HEADER = 8  # bytes of the big-endian length before each pickle
#: set by the CLI unless --verbose (``cli._noise.ENV``): pypdf's own log lines stay out of the output
QUIET_ENV = "CYCLERESEARCHER_QUIET_READERS"


def answer(target: str, args: tuple[Any, ...]) -> tuple[str, Any]:
    from ..errors import CycleResearcherError

    try:
        module, name = target.split(":")
        return "ok", getattr(importlib.import_module(module), name)(*args)
    except CycleResearcherError as exc:
        return "input", str(exc)
    except MemoryError:
        return "input", "reading it ran out of memory"
    except Exception as exc:  # a reader's bug: said in one line, the parent goes on
        return "error", f"{type(exc).__name__}: {exc}"


def read_message(stream: BinaryIO) -> Any:
    header = stream.read(HEADER)
    if len(header) < HEADER:
        return None
    return pickle.loads(stream.read(int.from_bytes(header, "big")))


def write_message(stream: BinaryIO, value: Any) -> None:
    data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(len(data).to_bytes(HEADER, "big") + data)
    stream.flush()


def serve() -> None:
    channel_in, channel_out = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # stdout is the channel: whatever a library prints goes to stderr
    import pypdf  # noqa: F401 - imported once, before the first request's clock

    if os.environ.get(QUIET_ENV):  # the CLI without --verbose (cli._noise): the reader's error says it all
        logging.getLogger("pypdf").setLevel(logging.ERROR)  # "invalid pdf header", "EOF marker not found"

    from . import readers  # noqa: F401

    while (request := read_message(channel_in)) is not None:
        write_message(channel_out, answer(*request))


if __name__ == "__main__":
    try:
        serve()
    except KeyboardInterrupt:  # Ctrl-C reaches the whole process group: the parent says what it means
        sys.exit(130)
