"""The one way a use case tells its caller how far it is and what to know.

A use case takes a ``Report`` and calls ``step`` (a new phase, with its count of units when known),
``advance`` (units done), ``warn`` (something the user should read; never fatal) and ``tokens``
(the live token progress of a generation batch, ``progress.Reporter``, made ambient with
``progress.reporting`` so it reaches the engine runner through the stages). The CLI renders it on
stderr (``cli/_report.py``), the web page into the job record (``app/jobs.py``, the background jobs the page starts); tests and the
Python API use ``Collect``.
"""

from __future__ import annotations

import os
from typing import Protocol

from ..progress import Reporter


class Report(Protocol):
    def step(self, message: str, total: int | None = None) -> None:
        """A new phase; ``total`` units follow (None: unknown, or the same as before)."""

    def advance(self, k: int = 1) -> None:
        """``k`` more units of the current phase are done."""

    def warn(self, message: str) -> None:
        """A warning the user should see (the file it is about named once, at its start)."""

    def tokens(self, label: str) -> Reporter | None:
        """Where a generation batch's token progress goes (None: nowhere)."""


class Collect:
    """A report that keeps what it is told: for the Python API and for tests."""

    def __init__(self) -> None:
        self.steps: list[tuple[str, int | None]] = []
        self.done = 0
        self.warnings: list[str] = []

    def step(self, message: str, total: int | None = None) -> None:
        self.steps.append((message, total))

    def advance(self, k: int = 1) -> None:
        self.done += k

    def warn(self, message: str) -> None:
        self.warnings.append(message)

    def tokens(self, label: str) -> Reporter | None:
        return None


def about(source: object, warning: str) -> str:
    """``source: warning``, unless the warning already starts with the file's name or path
    (``refs.bib:12: ...`` is not told as ``refs.bib: refs.bib:12: ...``)."""
    name = os.path.basename(str(source))
    if any(str(warning).startswith(s) for s in (str(source), name) if s):
        return str(warning)
    return f"{source}: {warning}"
