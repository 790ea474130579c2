"""``cycleresearcher`` command line: thin commands over the Python API.

Each sub-module registers its commands with ``register(app)``; none imports torch / llama_cpp /
vllm / trl at module level, so ``cycleresearcher --help`` stays fast.
"""

from __future__ import annotations

import importlib

import typer

app = typer.Typer(
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


@app.callback()
def _root(
    debug: bool = typer.Option(
        False, "--debug", help="Show the full traceback of an unexpected error (default: saved to a log)."
    ),
) -> None:
    """Keep the app a group even when only one command is registered."""
    from . import _common

    _common.DEBUG = debug


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
