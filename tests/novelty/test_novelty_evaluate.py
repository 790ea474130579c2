"""`evaluate papers --novelty`: the Close prior work column, found through each review's source
(a real research run, checked with `research novelty`, reviewed by the file runner)."""

from __future__ import annotations

import csv
from pathlib import Path

from novelty_corpus import CLOSE_IDEA, FAR_IDEA, no_user_cache  # noqa: F401  (fixtures)
from test_novelty_cli import make_run
from typer.testing import CliRunner

from cycleresearcher.cli import app
from cycleresearcher.review.cyclereviewer import CycleReviewer
from cycleresearcher.review.runner import review_files
from support.fake_engine import FakeEngine

REVIEW = (Path(__file__).parents[1] / "data" / "web" / "review.txt").read_text(encoding="utf-8")
runner = CliRunner()


def test_close_prior_work_column_counts_checked_papers(tmp_path):
    close_run, _ = make_run(tmp_path / "a", CLOSE_IDEA, ["kvcache", "soil"], "close")
    far_run, _ = make_run(tmp_path / "b", FAR_IDEA, ["kvcache", "soil"], "far")
    unchecked_run, _ = make_run(tmp_path / "c", CLOSE_IDEA, ["kvcache"], "unchecked")
    for run in (close_run, far_run):
        assert runner.invoke(app, ["research", "novelty", str(run), "--lexical"]).exit_code == 0
    reviews = []
    for run in (close_run, far_run, unchecked_run):
        out = tmp_path / f"review-{run.name}"
        review_files([str(run)], CycleReviewer(model="x", engine=FakeEngine(REVIEW)), out)
        reviews.append(str(out))
    result = runner.invoke(app, ["evaluate", "papers", *reviews, "--novelty", "-o", str(tmp_path / "eval")])
    assert result.exit_code == 0, result.output
    with open(tmp_path / "eval" / "papers.csv", encoding="utf-8") as f:
        rows = {r["group"]: r for r in csv.DictReader(f)}
    assert float(rows["review-close"]["close_prior_work"]) == 1.0
    assert float(rows["review-far"]["close_prior_work"]) == 0.0
    assert rows["review-unchecked"]["close_prior_work"] == "", "never checked: undefined, not 0"
    md = (tmp_path / "eval" / "papers.md").read_text(encoding="utf-8")
    assert "Close prior work" in md and "(1/1)" in md and "(0/0)" in md
