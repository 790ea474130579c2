"""Hidden option aliases: old long names that keep working in users' scripts but are not in --help.

Each short flag has one meaning across commands (README "Options"); where a rename changed a long
name, the old one is rewritten to the new one before parsing, so ``--n 3`` still means
``--samples 3``. Old short flags are not kept: a short flag that meant two things is the problem.
"""

from __future__ import annotations

from typing import Any

from typer.core import TyperCommand


def rewrite(args: list[str], aliases: dict[str, str]) -> list[str]:
    """``--old VALUE`` / ``--old=VALUE`` -> ``--new ...``; nothing after ``--`` is touched."""
    out: list[str] = []
    for i, arg in enumerate(args):
        if arg == "--":
            return out + args[i:]
        name, eq, value = arg.partition("=")
        out.append(aliases[name] + eq + value if name in aliases else arg)
    return out


def aliased(**aliases: str) -> type[TyperCommand]:
    """A command class accepting ``old_name="--new"`` aliases, e.g. ``aliased(n="--samples")``
    (keyword = the old long name without its dashes, ``_`` for ``-``)."""
    table = {"--" + old.replace("_", "-"): new for old, new in aliases.items()}

    class _Aliased(TyperCommand):
        hidden_aliases = table

        def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
            return super().parse_args(ctx, rewrite(args, self.hidden_aliases))

    return _Aliased


#: the old name every renamed ``-o`` option keeps
OUT_ALIASES = {"output_dir": "--out"}
