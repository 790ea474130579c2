"""What the CLI prints reads cleanly: a warning names its file once, a cut title ends in an
ellipsis, and every command's --help fits 80 columns with nothing cut."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from cycleresearcher.cli import app
from cycleresearcher.cli._group import RICH_HELP_COLUMNS
from researcher_outputs import simulated_output
from support import FAKE_ENGINE
from support.cli_walk import names, options, walk

runner = CliRunner()
LONG = "Compression " * 10


def test_warning_names_the_file_once_and_a_long_title_is_cut_with_an_ellipsis(tmp_path):
    bib = tmp_path / "refs.bib"
    bib.write_text("@article{a, title={A}, title={Again}, author={X, Y}, year={2020}}\n", encoding="utf-8")
    script = simulated_output(1).replace("Key {Compression} 1", "Key " + LONG)
    args = [
        "research",
        "generate",
        str(bib),
        "-o",
        str(tmp_path / "run"),
        "--no-pdf",
        "--engine",
        FAKE_ENGINE,
    ]
    r = runner.invoke(app, [*args, "--engine-opt", f"script={script}"], env={"COLUMNS": "200"})
    assert r.exit_code == 0, r.output
    assert "refs.bib:1: 'a' gives the field 'title' more than once" in r.output
    assert "refs.bib: refs.bib" not in r.output and f"{bib}: {bib}" not in r.output
    title = next(line for line in r.output.splitlines() if "Key Compression" in line)
    cell = re.search(r"Key Compression[^│]*", title).group(0).strip()
    assert cell.endswith("…") and len(cell) == 60, title


WALK = [(path, cmd) for path, cmd in walk()]


def _cut(path: tuple[str, ...], cmd, columns: int) -> list[str]:
    """What ``path --help`` at ``columns`` loses: lines over the width, words cut with an
    ellipsis, option names not shown in full."""
    r = runner.invoke(app, [*path, "--help"], env={"COLUMNS": str(columns)})
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    problems = [f"{len(line)} columns: {line}" for line in lines if len(line) > columns]
    problems += [f"cut: {line.strip(' │')}" for line in lines if "…" in line]
    shown = {n for o in options(cmd) if not o.hidden for n in names(o)}
    problems += [f"not shown: {n}" for n in sorted(shown) if not re.search(rf"(?<![\w-]){re.escape(n)}(?![\w-])", r.output)]
    return problems


@pytest.mark.parametrize("path,cmd", WALK, ids=[" ".join(p) or "root" for p, _ in WALK])
def test_help_fits_80_columns_and_cuts_nothing(path, cmd):
    """In an 80-column terminal typer's option table cut names and values with an ellipsis
    (``--keep-hidden-te…``, ``tensor_parallel_si…``): the help is click's plain layout there."""
    assert _cut(path, cmd, 80) == []


@pytest.mark.parametrize("path,cmd", WALK, ids=[" ".join(p) or "root" for p, _ in WALK])
def test_the_rich_help_cuts_nothing_from_its_narrowest_width(path, cmd):
    """From RICH_HELP_COLUMNS on, the help is typer's rich panels; an option that does not fit
    there must be shortened, or the width raised."""
    assert _cut(path, cmd, RICH_HELP_COLUMNS) == []
    assert "╭─ Options" in runner.invoke(app, [*path, "--help"], env={"COLUMNS": str(RICH_HELP_COLUMNS)}).output


@pytest.mark.parametrize("columns", ["80", str(RICH_HELP_COLUMNS)])
@pytest.mark.parametrize("path", [(), ("review",), ("research",), ("evaluate",)], ids=lambda p: " ".join(p) or "root")
def test_a_group_called_bare_shows_its_help_at_any_width(path, columns):
    r = runner.invoke(app, list(path), env={"COLUMNS": columns})
    assert r.exit_code == 2
    assert "Usage:" in r.output and "Commands" in r.output and "Error" not in r.output
