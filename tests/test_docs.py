"""Docs match the code: every CLI command has help with an example and is documented in the
README or docs/, and `cycleresearcher --help` imports no heavy dependency."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import typer.main

from cycleresearcher.cli import app

ROOT = Path(__file__).resolve().parent.parent
DOCS = "\n".join(
    p.read_text(encoding="utf-8") for p in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
)


def _commands(group, prefix: tuple[str, ...] = ()):
    if hasattr(group, "commands"):
        for name, cmd in group.commands.items():
            yield from _commands(cmd, (*prefix, name))
    else:
        yield prefix, group


COMMANDS = list(_commands(typer.main.get_command(app)))


def test_there_are_commands():
    names = {" ".join(p) for p, _ in COMMANDS}
    for expected in (
        "research generate",
        "research complete",
        "paper parse",
        "paper export",
        "references render",
        "review run",
        "review parse",
        "detect run",
        "detect calibrate",
        "evaluate papers",
        "evaluate reviewers",
        "evaluate detection",
        "evaluate winrate",
        "train",
        "serve",
        "doctor",
    ):
        assert expected in names


@pytest.mark.parametrize("path", [" ".join(p) for p, _ in COMMANDS])
def test_command_help_has_an_example_and_is_documented(path):
    cmd = dict((" ".join(p), c) for p, c in COMMANDS)[path]
    assert "Example:" in (cmd.help or ""), f"'cycleresearcher {path} --help' has no example"
    shown = path.removesuffix(" run")  # default commands: `review FILES` == `review run FILES`
    assert f"cycleresearcher {shown}" in DOCS or f"cycleresearcher {path}" in DOCS, (
        f"'{path}' is not in README.md or docs/"
    )


def test_help_imports_no_heavy_dependency():
    code = (
        "import sys; from cycleresearcher.cli import app; import typer.main; "
        "typer.main.get_command(app); "
        "print(','.join(m for m in ('torch','transformers','llama_cpp','vllm','trl','sentence_transformers','ray') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == "", f"importing the CLI loaded: {out}"
