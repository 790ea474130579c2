"""Tables of the CLI: piped output gets whole rows; a given COLUMNS=80 keeps every number and
header word whole where it can and cuts long names with "…" (the written files keep them)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cycleresearcher.cli import app
from cycleresearcher.cli._tables import print_table

LONG = [f"papers/a-rather-long-folder-name/for-generated-papers/paper-number-{i:03d}.txt" for i in range(3)]


def _evaluate(tmp_path: Path, env: dict[str, str] | None = None) -> str:
    results = tmp_path / "results-with-a-long-descriptive-name.json"
    results.write_text(json.dumps([{"path": p, "probability": 0.2 + 0.3 * i, "label": i % 2} for i, p in enumerate(LONG)]))
    r = CliRunner().invoke(app, ["evaluate", "detection", str(results), "-o", str(tmp_path / "ev")], env=env)
    assert r.exit_code == 0, r.output
    return r.stdout


def test_piped_table_keeps_whole_rows(tmp_path: Path, monkeypatch):
    monkeypatch.delenv("COLUMNS", raising=False)
    out = _evaluate(tmp_path)
    assert "…" not in out
    row = next(line for line in out.splitlines() if "results-with-a-long-descriptive-name" in line)
    assert "probability" in row and "33.33%" in row and row.rstrip().endswith("0 │")  # one line per row


@pytest.mark.parametrize("columns", [80, 100])
def test_narrow_terminal_keeps_numbers_whole_and_cuts_long_names(tmp_path: Path, monkeypatch, columns: int):
    """At 80 (and 100) columns rich folded cells mid-word: "-2.5" over "000", "Accep" over "t". Now
    a number is never split, a long name is cut with "…" and the written files keep it whole."""
    from cycleresearcher.cli import _common

    monkeypatch.setenv("COLUMNS", str(columns))
    monkeypatch.setattr(_common.out, "_width", columns)
    out = _evaluate(tmp_path)
    lines = out.splitlines()
    assert max(len(line) for line in lines) <= columns
    [row] = [line for line in lines if line.startswith("│")]  # one line: no cell wrapped
    cells = [c.strip() for c in row.strip("│").split("│")]
    assert cells[2:] == ["0.5000", "3", "2", "1", "33.33%", "0.0000", "0.5000", "0", "0"]
    assert cells[0].startswith("resu") and cells[0].endswith("…")
    assert "results-with-a-long-descriptive-name" in (tmp_path / "ev" / "detection.md").read_text()


def _printed(table, width: int) -> list[str]:
    from rich.console import Console

    console = Console(width=width, file=io.StringIO(), force_terminal=True, color_system=None)
    print_table(console, table)
    return console.file.getvalue().splitlines()


def test_a_path_keeps_its_file_name_and_headers_their_words():
    from rich.table import Table

    table = Table("file")  # as `detect` prints it
    for header in ("criterion", "probability", "confidence", "tokens"):
        table.add_column(header, justify="left" if header == "confidence" else "right")
    table.add_row("drafts/a-rather-long-folder-name/for-generated-papers/paper-007.txt", "-2.5000", "12.50%",
                  "Unavailable for papers (criterion only)", "2048")  # fmt: skip
    lines = _printed(table, 80)
    assert max(len(line) for line in lines) <= 80
    assert any(all(h in line for h in ("file", "criterion", "probability", "tokens")) for line in lines)
    [row] = [line for line in lines if line.startswith("│")]
    cells = [c.strip() for c in row.strip("│").split("│")]
    assert cells[0].startswith("…") and cells[0].endswith("/paper-007.txt")
    assert cells[1:3] == ["-2.5000", "12.50%"] and cells[3].endswith("…") and cells[4] == "2048"


def test_too_many_numbers_for_the_width_cut_with_an_ellipsis_never_fold():
    from rich.table import Table

    table = Table(*(f"value {i}" for i in range(12)))
    for column in table.columns:
        column.justify = "right"
    table.add_row(*(f"-{i}.123456" for i in range(12)))
    for line in _printed(table, 60):  # no room even for the numbers: each is cut visibly, not split
        assert line.startswith(("┏", "┃", "┡", "└")) or (line.startswith("│") and "…" in line)
