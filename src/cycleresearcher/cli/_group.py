"""Typer groups: one with a default command, so that ``cycleresearcher review a.pdf`` and
``cycleresearcher review parse out.txt`` both work (``review a.pdf`` = ``review run a.pdf``), and
the root, whose global flags (``--verbose``, ``--debug``) may also come after the command."""

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


#: the root's flags that take no value, accepted anywhere before ``--``
GLOBAL_FLAGS = ("--verbose", "-v", "--debug")


class RootGroup(TyperGroup):
    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        end = args.index("--") if "--" in args else len(args)
        moved = [a for a in args[:end] if a in GLOBAL_FLAGS]
        rest = [a for a in args[:end] if a not in GLOBAL_FLAGS]
        return super().parse_args(ctx, [*moved, *rest, *args[end:]])


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
