"""`cycleresearcher evaluate ...` on our own small data: the output files exist and hold the
hand-computed numbers (see tests/data/evaluation and the comments)."""

from __future__ import annotations

import csv
import json
import shutil

import pytest
from typer.testing import CliRunner

from cycleresearcher.cli import app
from cycleresearcher.store import RunStore
from support import FAKE_ENGINE

runner = CliRunner()
approx = pytest.approx


def invoke(*args: str):
    result = runner.invoke(app, ["evaluate", *args])
    assert result.exit_code == 0, result.output
    return result


def read_csv(path):
    with open(path, newline="") as fh:
        return {row[next(iter(row))]: row for row in csv.DictReader(fh)}


def test_papers_group_by_folder_writes_three_files(data_dir, tmp_path):
    out = tmp_path / "out"
    result = invoke("papers", str(data_dir / "evaluation/reviews"), "--group-by", "folder", "-o", str(out))
    assert "Paper quality" in result.output
    rows = read_csv(out / "papers.csv")
    strong, weak = rows["strong"], rows["weak"]
    # strong: p01 ratings 6,8,8 (no final), p02 5,6,10 (final 7.0, "10" read as 10)
    assert (int(strong["papers"]), int(strong["failed"])) == (2, 0)
    assert float(strong["avg_min"]) == approx(5.5)
    assert float(strong["avg_max"]) == approx(9.0)
    assert float(strong["avg_score"]) == approx((22 / 3 + 7.0) / 2, abs=1e-6)
    assert float(strong["accept_rate"]) == 0.5
    assert float(strong["presentation"]) == approx((3.0 + 2.67) / 2)
    # weak: p03 ratings 3,4; p04 (raw CycleReviewer text) 3,5; p05 unparseable -> failed, not dropped
    assert (int(weak["papers"]), int(weak["failed"])) == (3, 1)
    assert (float(weak["avg_min"]), float(weak["avg_max"]), float(weak["avg_score"])) == (3.0, 4.5, 3.75)
    assert float(weak["accept_rate"]) == 0.0 and float(weak["contribution"]) == 1.5
    md = (out / "papers.md").read_text()
    assert "| strong | 2 | 0 | 5.50 | 9.00 | 7.17 | 50.00% (1/2) |" in md
    assert "reviewer's decision" in md
    png = (out / "papers_ratings.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000


def test_papers_group_by_label_threshold_and_ci(data_dir, tmp_path):
    out = tmp_path / "out"
    invoke(
        "papers", str(data_dir / "evaluation/reviews"), "--group-by", "label",
        "--labels", str(data_dir / "evaluation/labels.csv"), "--accept-threshold", "7", "--ci", "-o", str(out),
    )  # fmt: skip
    rows = read_csv(out / "papers.csv")
    # human: p01 (7.33, accepted at >= 7), p04 (4.0); generated: p02 (7.0, accepted), p03 (3.5), p05 failed
    assert float(rows["human"]["accept_rate"]) == 0.5
    assert (int(rows["generated"]["papers"]), int(rows["generated"]["failed"])) == (3, 1)
    assert float(rows["generated"]["avg_score"]) == approx((7.0 + 3.5) / 2)
    low, high = float(rows["human"]["avg_score_ci_low"]), float(rows["human"]["avg_score_ci_high"])
    assert low <= float(rows["human"]["avg_score"]) <= high
    assert "rating >= 7" in (out / "papers.md").read_text()


def test_papers_from_a_run_store_counts_unreviewed_papers(data_dir, tmp_path):
    run = tmp_path / "run-a"
    review = json.loads((data_dir / "evaluation/reviews/strong/p01.json").read_text())
    with RunStore(run) as store:
        store.put("paper", "p01", {"id": "p01", "title": "x"})
        store.put("paper", "p09", {"id": "p09", "title": "never reviewed"})
        # the review stage's record: the parsed review nested under "review"; a failed one has None
        store.put(
            "review", "p01", {"paper_id": "p01", "reviewer": "cyclereviewer", "review": review, "error": None}
        )
        store.put(
            "review",
            "p08",
            {"paper_id": "p08", "reviewer": "cyclereviewer", "review": None, "error": "timeout"},
        )
    folder = tmp_path / "weak"
    shutil.copytree(data_dir / "evaluation/reviews/weak", folder)
    out = tmp_path / "out"
    result = invoke("papers", str(run), str(folder), "-o", str(out))
    rows = read_csv(out / "papers.csv")
    # p08's request failed and p09 has no review: not reviewed, so no failed parse; named under the table
    assert (int(rows["run-a"]["papers"]), int(rows["run-a"]["failed"])) == (1, 0)
    note = "Not reviewed, not counted (run-a): 2 paper(s), p08 (timeout), p09 (no review record)."
    assert note in (out / "papers.md").read_text() and note in " ".join(result.output.split())
    assert float(rows["run-a"]["avg_score"]) == approx(22 / 3)
    assert int(rows["weak"]["failed"]) == 1


def test_papers_errors_are_one_line(tmp_path):
    result = runner.invoke(app, ["evaluate", "papers", str(tmp_path / "missing")])
    assert result.exit_code == 2 and "does not exist" in result.output
    result = runner.invoke(app, ["evaluate", "papers", str(tmp_path), "--group-by", "label"])
    assert result.exit_code == 2 and "--labels" in result.output


def test_reviewers_json_and_files(data_dir, tmp_path):
    out = tmp_path / "out"
    ev = data_dir / "evaluation"
    result = invoke(
        "reviewers", "--truth", str(ev / "truth.json"), "--pred", str(ev / "pred"), "--json", "-o", str(out)
    )
    metrics = json.loads(result.stdout[result.stdout.index("{") :])
    # hand computed in test_eval_metrics.test_reviewer_accuracy_hand_computed (same numbers, from files)
    assert metrics["rating_mse_n"] == approx(4.25 / 3)
    assert metrics["rating_mse_n_minus_1"] == approx((1 + 5 / 12 + 8) / 3)
    assert metrics["rating_mae_n"] == approx(2.5 / 3)
    assert metrics["rating_spearman"] == approx(0.5)
    assert metrics["pairwise_accuracy"] == approx(2 / 3)
    assert metrics["decision_accuracy"] == approx(2 / 3) and metrics["decision_f1_macro"] == approx(2 / 3)
    # presentation: q3 has no human presentation score; q1 3 vs 3, q2 2 vs 2.5; two papers
    assert metrics["presentation_papers"] == 2 and metrics["presentation_mse_n"] == approx(0.125)
    assert metrics["missing_predictions"] == ["q4"]
    rows = read_csv(out / "reviewers.csv")
    assert float(rows["rating"]["mse_n"]) == approx(4.25 / 3, abs=1e-6)
    assert float(rows["decision"]["accuracy"]) == approx(2 / 3, abs=1e-6)
    assert (
        "| rating | 3 | 1.4167 | 0.8333 | 3.1389 | 1.1667 | 0.5000 | 0.6667 |"
        in (out / "reviewers.md").read_text()
    )
    assert json.loads((out / "reviewers.json").read_text())["rating_papers"] == 3


def test_reviewers_no_match_is_an_error(data_dir, tmp_path):
    ev = data_dir / "evaluation"
    result = runner.invoke(
        app, ["evaluate", "reviewers", "--truth", str(ev / "truth.json"), "--pred", str(ev / "winrate/a")]
    )
    assert result.exit_code == 2 and "matches a paper id" in result.output


def test_detection_table(data_dir, tmp_path):
    ev, out = data_dir / "evaluation", tmp_path / "out"
    invoke(
        "detection", str(ev / "detections.json"), "--labels", str(ev / "detect_labels.csv"), "-o", str(out)
    )
    row = read_csv(out / "detection.csv")["detections"]
    # p > 0.5: h2 wrong, g2 wrong -> 4/6; F1 tp 2 fp 1 fn 1; AUROC 8/9; u1 unlabelled
    assert row["score"] == "probability" and float(row["threshold"]) == 0.5
    assert float(row["accuracy"]) == approx(4 / 6, abs=1e-6)
    assert float(row["f1"]) == approx(2 / 3, abs=1e-6)
    assert float(row["auroc"]) == approx(8 / 9, abs=1e-6)
    assert (int(row["papers"]), int(row["unlabelled"])) == (6, 1)
    invoke("detection", str(ev / "detections.json"), "--labels", str(ev / "detect_labels.csv"),
           "--score", "criterion", "--threshold", "1.0", "-o", str(out))  # fmt: skip
    row = read_csv(out / "detection.csv")["detections"]
    assert float(row["accuracy"]) == approx(5 / 6, abs=1e-6) and float(row["f1"]) == approx(0.8)
    assert (
        "| detections | criterion | 1.0000 | 6 | 3 | 3 | 83.33% | 0.8000 | 0.8889 | 1 | 0 |"
        in (out / "detection.md").read_text()
    )


def test_winrate_cli_reports_unparsed_and_records_order(data_dir, tmp_path):
    ev, out = data_dir / "evaluation", tmp_path / "out"
    # the fake engine answers "" (orchestration only): every verdict is unparsed, reported, exit 3
    args = ["evaluate", "winrate", "--a", str(ev / "winrate/a"), "--b", str(ev / "winrate/b")]
    result = runner.invoke(app, [*args, "--engine", FAKE_ENGINE, "--seed", "3", "-o", str(out)])
    assert result.exit_code == 3, result.output
    assert "3 of 3 judgement(s) failed or gave no verdict" in result.output
    rows = read_csv(out / "winrate.csv")
    assert set(rows) == {"Accuracy", "Specificity", "Constructiveness", "Overall"}
    assert all(int(r["unparsed"]) == 3 and r["a_win_rate"] == "" for r in rows.values())
    lines = [json.loads(x) for x in (out / "judgements.jsonl").read_text().splitlines()]
    assert [x["paper_id"] for x in lines] == ["w1", "w2", "w3"]
    assert {x["first"] for x in lines} <= {"a", "b"}
    assert "shown first in" in (out / "winrate.md").read_text()


def test_winrate_exits_0_when_every_judgement_has_a_verdict(data_dir, tmp_path):
    ev = data_dir / "evaluation"
    args = ["evaluate", "winrate", "--a", str(ev / "winrate/a"), "--b", str(ev / "winrate/b")]
    answer = "script=Accuracy: A\nSpecificity: Tie\nConstructiveness: B\nOverall: A"
    result = runner.invoke(app, [*args, "--engine", FAKE_ENGINE, "--engine-opt", answer, "-o", str(tmp_path)])
    assert result.exit_code == 0, result.output
    rows = read_csv(tmp_path / "winrate.csv")
    assert all(int(r["unparsed"]) == 0 for r in rows.values())


def test_every_evaluate_command_is_documented():
    from pathlib import Path

    doc = (Path(__file__).parents[2] / "docs/evaluation.md").read_text()
    for command in ("papers", "reviewers", "detection", "winrate"):
        assert f"cycleresearcher evaluate {command}" in doc


def test_detection_default_is_probability_when_some_results_have_one(tmp_path):
    """A record without a probability goes to No score, as with --score probability (the docs'
    rule), instead of the whole file being refused; the messages name the file with its suffix."""
    scores, labels = tmp_path / "scores.jsonl", tmp_path / "labels.csv"
    records = [{"paper_id": "a", "probability": 0.9}, {"paper_id": "b", "probability": 0.2},
               {"paper_id": "c", "probability": 0.6}, {"paper_id": "d", "criterion": 1.2}]  # fmt: skip
    scores.write_text("".join(json.dumps(r) + "\n" for r in records))
    labels.write_text("a,1\nb,0\nc,human\nd,machine\nlost-paper,human\n")
    base = ["detection", str(scores), "--labels", str(labels)]
    invoke(*base, "--score", "probability", "-o", str(tmp_path / "explicit"))
    result = invoke(*base, "-o", str(tmp_path / "default"))
    assert (tmp_path / "default/detection.csv").read_text() == (tmp_path / "explicit/detection.csv").read_text()
    row = read_csv(tmp_path / "default/detection.csv")["scores"]
    assert (row["score"], row["papers"], row["no_score"]) == ("probability", "3", "1")
    said = " ".join(result.output.split())
    assert f"{scores}: 1 labelled result(s) have no probability and are counted in No score (d)" in said
    # a label row that matched no result is named, as `detect --labels` names unlabelled files
    assert f"{labels}: 1 label row(s) match no result and are not counted: lost-paper." in said
    # a criterion's threshold is not applied to the probabilities: the fix is named
    result = runner.invoke(app, ["evaluate", *base, "--threshold", "-2.5"])
    said = " ".join(result.output.split())
    assert result.exit_code == 2 and f"results in {scores} have a probability" in said
    assert "Add --score criterion" in said
    invoke(*base, "--score", "criterion", "--threshold", "1.0", "-o", str(tmp_path / "crit"))
    # no probability at all: the criterion, whose threshold must be given
    only = tmp_path / "crit.jsonl"
    only.write_text(json.dumps({"paper_id": "d", "criterion": 1.2}) + "\n")
    result = runner.invoke(app, ["evaluate", "detection", str(only), "--labels", str(labels)])
    said = " ".join(result.output.split())
    assert result.exit_code == 2 and f"{only} have no calibrated 'probability'" in said
    assert "--score criterion --threshold T" in said
