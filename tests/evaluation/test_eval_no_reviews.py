"""`evaluate papers` on a research run that was never reviewed says to review first and fails,
instead of a table of "undefined" columns and exit 0."""

from __future__ import annotations

from typer.testing import CliRunner

from cycleresearcher.cli import app
from cycleresearcher.store import RunStore


def test_a_run_with_papers_and_no_review_says_to_review_first(tmp_path):
    run = tmp_path / "research-run"
    with RunStore(run) as store:
        store.put("paper", "p1", {"title": "A paper", "latex": "\\section{Intro} text"})
        store.put("paper", "p2", {"title": "Another", "latex": "\\section{Intro} text"})
    result = CliRunner().invoke(app, ["evaluate", "papers", str(run), "-o", str(tmp_path / "out")])
    assert result.exit_code != 0
    assert "no review" in result.output and "Review them first" in result.output
    assert "undefined" not in result.output and not (tmp_path / "out" / "papers.csv").exists()
