"""End to end on the embedded model: research generate -> review run -> evaluate papers.

The tiny stand-in model writes neither a real paper nor a parseable review; the point is that the
three stages connect and that an unparseable review is counted as a failed parse, not dropped (and
that a table of failed parses only exits 3: nothing usable came out).
"""

from __future__ import annotations

import csv

import pytest
from typer.testing import CliRunner

from cycleresearcher.cli import app


@pytest.mark.slow
def test_generate_review_evaluate(data_dir, tmp_path, embedded_gguf):
    pytest.importorskip("llama_cpp")
    runner = CliRunner()
    research, review, out = tmp_path / "research", tmp_path / "review", tmp_path / "eval"
    steps = [
        ["research", "generate", str(data_dir / "evaluation/refs.bib"), "-n", "1", "--max-tokens", "48",
         "--seed", "0", "--no-pdf", "-o", str(research)],
        ["review", "run", str(research), "--max-tokens", "48", "--context-length", "4096", "-o", str(review)],
        ["evaluate", "papers", str(review), "-o", str(out)],
    ]  # fmt: skip
    for args in steps:
        result = runner.invoke(app, args)
        assert result.exit_code in ((0, 3) if args[0] == "evaluate" else (0,)), (args[:2], result.output)
    with open(out / "papers.csv", newline="") as fh:
        (row,) = list(csv.DictReader(fh))
    assert row["group"] == "review" and int(row["papers"]) == 1
    failed = int(row["failed"])
    assert failed in (0, 1)
    assert result.exit_code == 3 * failed  # nothing but a failed parse: the table is written, exit 3
    assert (row["avg_score"] == "") == (failed == 1)  # no parsed rating -> no average, shown undefined
    assert (out / "papers.md").read_text().count("| review | 1 |") == 1
    assert (out / "papers_ratings.png").stat().st_size > 5000
