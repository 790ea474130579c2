"""The references commands' flags and messages read as a new user expects: output flags that
would silently override each other are refused naming both, a warning reads `warning: ...`,
`enrich` says why it is strict by default, and `research generate --help` lists every input
it reads (.bbl and training-layout text included)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cycleresearcher.cli import app

runner = CliRunner()
NO_ABSTRACT = "@article{a2020,\n  title = {Without an Abstract},\n  year = {2020}\n}\n"


@pytest.mark.parametrize("flags", [("--json", "--bibtex"), ("--explain", "--json"), ("--bibtex", "--explain")])
def test_output_flags_that_exclude_each_other_are_refused(tmp_path: Path, flags: tuple[str, str]) -> None:
    path = tmp_path / "refs.bib"
    path.write_text(NO_ABSTRACT, encoding="utf-8")
    result = runner.invoke(app, ["references", "render", *flags, str(path)])
    assert result.exit_code == 2 and result.stdout == ""
    line = " ".join(result.output.split())
    assert all(flag in line for flag in flags) and "cannot be combined" in line


def test_a_warning_reads_warning_colon(tmp_path: Path) -> None:
    path = tmp_path / "refs.bib"
    path.write_text(NO_ABSTRACT, encoding="utf-8")
    result = runner.invoke(app, ["references", "render", str(path)])
    assert result.exit_code == 0
    assert result.stderr.startswith(f"warning: {path}:1: 'a2020' has no abstract")


def _help(*command: str) -> str:
    """The --help text as one line of words (rich's panel borders removed)."""
    output = runner.invoke(app, [*command, "--help"], env={"COLUMNS": "200"}).output
    return " ".join(re.sub(r"[│╭╮╰╯─]", " ", output).split())


def test_enrich_says_why_it_is_strict_by_default() -> None:
    text = _help("references", "enrich")
    assert "[default: strict]" in text and "unlike render and generate" in text
    assert "a skipped entry would be missing from it" in text


def test_generate_help_lists_every_input_it_reads() -> None:
    text = _help("research", "generate")
    assert ".bbl" in text and "training-layout text" in text and "paper-record JSON" in text
    assert "@string definitions alone" in text
