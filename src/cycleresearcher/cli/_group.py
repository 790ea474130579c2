"""Typer groups: one with a default command, so that ``cycleresearcher review a.pdf`` and
``cycleresearcher review parse out.txt`` both work (``review a.pdf`` = ``review run a.pdf``), and
the root, whose global flags (``--verbose``, ``--debug``) may also come after the command, and
whose ``--help`` fits the terminal."""

from __future__ import annotations

import re
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


#: the narrowest terminal in which typer's option table (up to six columns: names, short names,
#: negative names, type, help) cuts no option name or value; narrower, ``--help`` is click's
#: plain layout, which wraps everything (tests/cli/test_cli_polish.py checks both)
RICH_HELP_COLUMNS = 110
#: the rich markup our help texts use, dropped from the plain layout
_MARKUP = re.compile(r"\[/?(?:bold|dim|italic|yellow|red|green)?\]")


def help_columns() -> int:
    """The width typer's --help would render at (TERMINAL_WIDTH, COLUMNS or the terminal's)."""
    from rich.console import Console
    from typer import rich_utils

    return rich_utils.MAX_WIDTH or Console().width


def _plain_help(cmd: Any) -> None:
    """``cmd`` and every command below it: click's plain --help, their texts without markup.

    Printed when it is formatted, as typer prints its rich help, so that the help a group shows
    when called with no arguments (raised as an error, which prints nothing itself) appears too."""
    cmd.help = _MARKUP.sub("", cmd.help) if cmd.help else cmd.help
    for param in cmd.params:
        if getattr(param, "help", None):
            param.help = _MARKUP.sub("", param.help)
    rich_format = type(cmd).format_help

    def format_help(ctx: Any, formatter: Any) -> None:
        mode, cmd.rich_markup_mode = cmd.rich_markup_mode, None
        try:
            plain = ctx.make_formatter()
            rich_format(cmd, ctx, plain)  # typer's own plain branch (its markup mode is None)
        finally:
            cmd.rich_markup_mode = mode
        typer.echo(plain.getvalue(), nl=False)

    cmd.format_help = format_help
    for sub in getattr(cmd, "commands", {}).values():
        _plain_help(sub)


class RootGroup(TyperGroup):
    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        end = args.index("--") if "--" in args else len(args)
        moved = [a for a in args[:end] if a in GLOBAL_FLAGS]
        rest = [a for a in args[:end] if a not in GLOBAL_FLAGS]
        return super().parse_args(ctx, [*moved, *rest, *args[end:]])

    def main(self, *args: Any, **kwargs: Any) -> Any:
        if help_columns() < RICH_HELP_COLUMNS:  # errors keep their rich panel: only --help changes
            _plain_help(self)
        return super().main(*args, **kwargs)


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
