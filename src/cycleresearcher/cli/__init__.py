"""``cycleresearcher`` command line: thin commands over the Python API.

Each sub-module registers its commands with ``register(app)``; none imports torch / llama_cpp /
vllm / trl at module level, so ``cycleresearcher --help`` stays fast.
"""

from __future__ import annotations

import importlib

import typer

from ._group import RootGroup

app = typer.Typer(
    cls=RootGroup,
    name="cycleresearcher",
    help=(
        "The research <-> review cycle: generate papers from references (CycleResearcher), review them "
        "(CycleReviewer / DeepReviewer), detect machine-written papers (Fast-DetectGPT), evaluate, and "
        "train the cycle.\n\nExample: cycleresearcher research generate examples/references.bib -n 1"
    ),
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
    # a traceback's local variables can hold an API key or a whole paper
    pretty_exceptions_show_locals=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"cycleresearcher {package_version()}")
        raise typer.Exit()


def package_version() -> str:
    """The installed distribution's version (the source tree's own when run uninstalled)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("cycleresearcher")
    except PackageNotFoundError:
        from .. import __version__

        return __version__


@app.callback()
def _root(
    verbose: bool = typer.Option(
        False,
        "--verbose",
        "-v",
        help="Show the libraries' own output too: transformers / datasets progress bars, their warnings, llama.cpp's load log. Allowed anywhere on the line.",
    ),
    debug: bool = typer.Option(
        False,
        "--debug",
        help="Show the full traceback of an unexpected error (default: saved to a log). Allowed anywhere on the line.",
    ),
    version: bool = typer.Option(
        False,
        "--version",
        callback=_version,
        is_eager=True,
        help="Print the installed version and exit.",
    ),
) -> None:
    """Global options; keeps the app a group even when only one command is registered."""
    from . import _common, _noise

    _common.DEBUG = debug
    _noise.apply(verbose)


#: sub-modules, in the order they appear in --help
COMMAND_MODULES = [
    "research",
    "paper",
    "references",
    "review",
    "detect",
    "evaluate",
    "train",
    "serve",
    "doctor",
]

for _name in COMMAND_MODULES:
    importlib.import_module(f"{__name__}.{_name}").register(app)


def main() -> None:
    app()


__all__ = ["app", "main"]
