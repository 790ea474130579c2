"""Docs match the code: every CLI command has help with an example and is documented in the
README or docs/, every command and option has help and its --help renders, every command line in
README.md / docs/*.md uses options that exist, and `cycleresearcher --help` imports no heavy
dependency."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import typer.main
from typer.testing import CliRunner

from cycleresearcher.cli import app
from support.cli_walk import doc_command_lines, names, options, unknown_options, walk

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


WALK = list(walk())


@pytest.mark.parametrize("path", [" ".join(p) for p, _ in WALK])
def test_command_and_every_parameter_have_help(path):
    cmd = dict((" ".join(p), c) for p, c in WALK)[path]
    shown = f"cycleresearcher {path}".strip()
    assert (cmd.help or "").strip(), f"'{shown}' has no help"
    for param in cmd.params:
        if param.param_type_name in ("option", "argument"):
            assert (getattr(param, "help", None) or "").strip(), f"'{shown}': {param.name} has no help"


@pytest.mark.parametrize("path", [" ".join(p) for p, _ in WALK])
def test_help_renders_every_option(path):
    cmd = dict((" ".join(p), c) for p, c in WALK)[path]
    result = CliRunner().invoke(app, [*path.split(), "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    for opt in options(cmd):
        if not opt.hidden:
            assert opt.opts[0] in result.output, f"'{path} --help' does not show {opt.opts[0]}"


DOC_LINES = doc_command_lines()


def test_docs_have_command_lines():
    assert len(DOC_LINES) > 50
    assert any("research generate" in d.text and " -n " in d.text for d in DOC_LINES)


@pytest.mark.parametrize("line", DOC_LINES, ids=lambda d: d.where)
def test_docs_command_lines_use_options_that_exist(line):
    path, bad = unknown_options(line.text)
    assert not bad, f"{line.where}: {' '.join(bad)} is not an option of 'cycleresearcher {' '.join(path)}': {line.text}"


def test_the_docs_check_catches_a_wrong_option():
    assert unknown_options("cycleresearcher review paper.pdf -n 3")[1] == ["-n"]
    assert unknown_options("cycleresearcher train c.toml --output-dir runs/x")[1] == ["--output-dir"]
    assert unknown_options("cycleresearcher review parse - --reviewer deepreviewer --raw") == (("review", "parse"), [])
    assert unknown_options("cycleresearcher -v research generate a.bib -n 2 --debug")[1] == []
    assert names(next(o for o in options(typer.main.get_command(app)) if o.name == "verbose")) == ["--verbose", "-v"]
