"""What `evaluate papers` reads from its arguments and says about it: every review counts (the same
paper reviewed in two folders is two reviews, named in a warning), our own non-review outputs are
not read as reviews, an argument with no review is named, a run whose every request failed is
refused saying so, and a folder of papers (not reviews) exits 3."""

from __future__ import annotations

import csv
import json
import shutil

import pytest
from typer.testing import CliRunner

from cycleresearcher.app.evaluate import PapersRequest, evaluate_papers
from cycleresearcher.app.report import Collect
from cycleresearcher.cli import app
from cycleresearcher.evaluation.loading import load_predictions
from cycleresearcher.store import RunStore

runner = CliRunner()


def evaluate(*args):
    return runner.invoke(app, ["evaluate", "papers", *map(str, args)])


def rows(out):
    with open(out / "papers.csv", newline="") as fh:
        return {row["group"]: row for row in csv.DictReader(fh)}


def flat(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture
def reviews(data_dir):
    return data_dir / "evaluation" / "reviews"


def test_the_same_paper_in_two_folders_is_two_reviews_and_is_named(reviews, tmp_path):
    root = tmp_path / "dupe"
    (root / "a").mkdir(parents=True)
    (root / "b").mkdir()
    shutil.copy(reviews / "strong/p01.json", root / "a/p1.json")  # ratings 6, 8, 8
    shutil.copy(reviews / "weak/p04.txt", root / "b/p1.txt")  # raw output: ratings 3, 5
    (root / "a/p1.md").write_text("# p1\n\nThe same review as p1.json, as `review -o` writes it.\n")
    result = evaluate(root, "-o", tmp_path / "out")
    assert result.exit_code == 0, result.output
    row = rows(tmp_path / "out")["dupe"]
    # both reviews count (a's .md is a's .json in another format: one review)
    assert (row["papers"], row["failed"]) == ("2", "0")
    assert (float(row["avg_min"]), float(row["avg_max"])) == ((6 + 3) / 2, (8 + 5) / 2)
    assert "dupe: 1 paper(s) reviewed more than once, each review counted as one paper: p1 (2 reviews)" in flat(
        result.output
    )
    # two text reviews of one paper in ONE folder: one is read, and the other is named
    shutil.copy(reviews / "weak/p04.txt", root / "b/p1.md")
    report = Collect()
    result = evaluate_papers(PapersRequest([root], write=False), report)
    assert result.table.rows[0]["papers"] == 2
    assert any("p1.txt: p1.md in the same folder is also a review of p1" in w for w in report.warnings)


def test_detect_and_evaluate_outputs_are_not_reviews(reviews, data_dir, tmp_path):
    root = tmp_path / "runs"
    shutil.copytree(reviews / "strong", root / "rev")
    det = root / "det"
    det.mkdir()
    shutil.copy(data_dir / "evaluation/detections.json", det / "detections.json")
    (det / "detections.md").write_text("# Detection\n\n| file | verdict |\n|---|---|\n| h1.txt | human |\n")
    assert evaluate(root / "rev", "-o", root / "ev").exit_code == 0  # papers.md / .csv beside them
    result = evaluate(root, "--group-by", "folder", "-o", tmp_path / "out")
    assert result.exit_code == 0, result.output
    assert set(rows(tmp_path / "out")) == {"rev"}  # no phantom failed paper for det/ or ev/
    # a folder of nothing but those outputs holds no review: refused, saying so
    result = evaluate(det, "-o", tmp_path / "out2")
    assert result.exit_code == 2 and f"No review in {det}: it holds no review file" in flat(result.output)


def test_an_argument_without_a_review_is_named_not_dropped(reviews, tmp_path):
    detect_run = tmp_path / "det-run"
    with RunStore(detect_run) as store:
        store.set_meta("command", "detect")
        store.put("detection", "h1", {"paper_id": "h1", "criterion": 0.3})
    result = evaluate(detect_run, reviews / "strong", "-o", tmp_path / "out")
    assert result.exit_code == 0, result.output
    assert set(rows(tmp_path / "out")) == {"strong"}
    assert f"no review in {detect_run}: it holds no review record (a `detect` run); left out of the table" in flat(
        result.output
    )


def _failed_run(path, error="generation failed: ConnectError: [Errno 111] Connection refused"):
    with RunStore(path) as store:
        store.put("review", "p1", {"paper_id": "p1", "reviewer": "cyclereviewer", "review": None, "error": error})
    return path


def test_a_run_whose_every_request_failed_is_refused_saying_so(reviews, tmp_path):
    run = _failed_run(tmp_path / "failrun")
    result = evaluate(run, "-o", tmp_path / "out")
    assert result.exit_code == 2 and not (tmp_path / "out" / "papers.csv").exists()
    message = flat(result.output)
    assert f"No review in {run}: 1 paper(s) not reviewed (generation failed: ConnectError" in message
    assert f"-o {run} --resume" in message and "failed parse" not in message
    # next to a run with reviews it is left out with a warning, not a row of undefined cells
    result = evaluate(run, reviews / "strong", "-o", tmp_path / "out")
    assert result.exit_code == 0 and set(rows(tmp_path / "out")) == {"strong"}
    assert f"no review in {run}: 1 paper(s) not reviewed" in flat(result.output)


def test_a_folder_of_papers_exits_3_and_says_to_review_them(tmp_path):
    papers = tmp_path / "in"
    papers.mkdir()
    (papers / "mypaper.md").write_text("# Sparse routing\n\n## Abstract\n\nWe route tokens.\n\n## Method\n\nText.\n")
    result = evaluate(papers, "-o", tmp_path / "out")
    assert result.exit_code == 3, result.output
    assert (tmp_path / "out" / "papers.csv").exists()  # the failed parses are still recorded
    message = flat(result.output)
    assert "in: not one of its 1 review(s) could be parsed" in message and "review them first" in message
    assert "Not one review could be parsed" in message


def test_group_by_label_matches_ids_as_evaluate_reviewers_does(reviews, tmp_path):
    folder = tmp_path / "reviews"
    folder.mkdir()
    # `review` names kitcat_paper.pdf kitcat-paper-61e7e746; the label row uses the file stem
    shutil.copy(reviews / "strong/p01.json", folder / "kitcat-paper-61e7e746.json")
    shutil.copy(reviews / "strong/p02.json", folder / "p02.json")
    labels = tmp_path / "labels.csv"
    labels.write_text("paper_id,label\nKitcat_Paper,human\np02,generated\n")
    result = evaluate(folder, "--group-by", "label", "--labels", labels, "-o", tmp_path / "out")
    assert result.exit_code == 0, result.output
    assert {g: r["papers"] for g, r in rows(tmp_path / "out").items()} == {"human": "1", "generated": "1"}


def test_a_failed_request_is_a_missing_prediction_for_evaluate_reviewers(tmp_path):
    pred = tmp_path / "pred"
    pred.mkdir()
    (pred / "q1.json").write_text(json.dumps({"paper_id": "q1", "review": None, "error": "timeout"}))
    assert load_predictions(pred) == {}


def test_each_seed_option_says_what_it_seeds():
    papers = flat(runner.invoke(app, ["evaluate", "papers", "--help"], env={"COLUMNS": "200"}).output)
    winrate = flat(runner.invoke(app, ["evaluate", "winrate", "--help"], env={"COLUMNS": "200"}).output)
    assert "bootstrap resampling" in papers and "A/B order" not in papers and "A-B order" not in papers
    assert "A/B order" in winrate and "bootstrap" not in winrate
