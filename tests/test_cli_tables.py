"""Tables of the CLI are never cut: piped output gets whole rows; a given COLUMNS=80 folds cells."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from cycleresearcher.cli import app

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


def test_columns_80_folds_instead_of_cropping(tmp_path: Path, monkeypatch):
    from cycleresearcher.cli import _common

    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.setattr(_common.out, "_width", 80)
    out = _evaluate(tmp_path)
    assert "…" not in out and max(len(line) for line in out.splitlines()) <= 80
    cells = "".join(line.split("│")[1].strip() for line in out.splitlines() if line.count("│") > 2)
    assert "results-with-a-long-descriptive-name" in cells  # folded over lines, every letter kept
