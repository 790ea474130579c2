"""A Typer group with a default command, so that ``cycleresearcher review a.pdf`` and
``cycleresearcher review parse out.txt`` both work (``review a.pdf`` = ``review run a.pdf``)."""

from __future__ import annotations

from typing import Any

import typer
from typer.core import TyperGroup


def default_group(default: str) -> type[TyperGroup]:
    class _DefaultGroup(TyperGroup):
        default_command = default

        def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
            if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
                args = [self.default_command, *args]
            return super().parse_args(ctx, args)

    return _DefaultGroup


def group(name: str, help: str, default: str | None = None) -> typer.Typer:
    kwargs = {"cls": default_group(default)} if default else {}
    return typer.Typer(
        name=name,
        help=help,
        no_args_is_help=True,
        add_completion=False,
        rich_markup_mode="rich",
        pretty_exceptions_show_locals=False,
        **kwargs,
    )
