"""The CLI's rendering of a use case's ``app.report.Report``: warnings and steps on stderr, the
token progress as the live line of ``progress.for_stderr``."""

from __future__ import annotations

from rich.markup import escape

from ..progress import Reporter, for_stderr
from ._common import console


class ConsoleReport:
    def __init__(self, quiet_steps: bool = True) -> None:
        #: steps are printed only when asked (--verbose): the token line already says how far it is
        self.quiet_steps = quiet_steps

    def step(self, message: str, total: int | None = None) -> None:
        if not self.quiet_steps:
            console.print(escape(message), soft_wrap=True)

    def advance(self, k: int = 1) -> None:
        pass

    def warn(self, message: str) -> None:
        console.print(f"[yellow]warning:[/] {escape(message)}", soft_wrap=True)

    def tokens(self, label: str) -> Reporter | None:
        return for_stderr(console, label)
