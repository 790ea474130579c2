"""What the CLI prints reads cleanly: a warning names its file once, a cut title ends in an
ellipsis, and every command's --help fits 80 columns."""

from __future__ import annotations

import re

import pytest
import typer
from typer.testing import CliRunner

from cycleresearcher.cli import app
from researcher_outputs import simulated_output
from support import FAKE_ENGINE

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


def _commands(group, path: tuple[str, ...] = ()):
    ctx = group.context_class(group)
    for name in group.list_commands(ctx):  # sub-apps load lazily: asked, not read from .commands
        cmd = group.get_command(ctx, name)
        yield (*path, name)
        if hasattr(cmd, "list_commands"):  # a group (typer ships its own click)
            yield from _commands(cmd, (*path, name))


ROOT = typer.main.get_command(app)


@pytest.mark.parametrize("command", [(), *_commands(ROOT)], ids=lambda c: " ".join(c) or "root")
def test_help_fits_80_columns(command):
    r = runner.invoke(app, [*command, "--help"], env={"COLUMNS": "80", "TERMINAL_WIDTH": "80"})
    assert r.exit_code == 0, r.output
    wide = [line for line in r.output.splitlines() if len(line) > 80]
    assert not wide, "\n".join(wide)
