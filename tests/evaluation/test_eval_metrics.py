"""Metric functions against small hand-computed cases (the expected numbers are worked out in the
comments, not produced by the code under test)."""

from __future__ import annotations

import pytest

from cycleresearcher.errors import InputError
from cycleresearcher.evaluation.detection import detection_metrics, detection_row, detection_table
from cycleresearcher.evaluation.quality import bootstrap_ci, paper_quality, quality_table
from cycleresearcher.evaluation.records import HumanPaper, ReviewedPaper
from cycleresearcher.evaluation.reviewers import (
    align_predictions,
    decision_metrics,
    pairwise_accuracy,
    reviewer_accuracy,
    reviewer_table,
    spearman,
)

approx = pytest.approx


def human(pid, ratings, decision="Reject", **dims):
    reviews = []
    for i, r in enumerate(ratings):
        row = {"rating": r}
        for dim, values in dims.items():
            row[dim] = values[i]
        reviews.append(row)
    return HumanPaper(pid, decision, reviews)


def pred(pid, rating=None, decision=None, group="g", **final):
    return ReviewedPaper(pid, group=group, final={"rating": rating, **final}, decision=decision)


# -- pairwise / spearman / decisions ----------------------------------------------------------
def test_pairwise_tie_rules():
    truth, guess = [3.0, 2.0, 3.5], [3.0, 2.0, 3.0]
    # half: (0,1) right, (0,2) predicted tie = 0.5, (1,2) right -> 2.5/3
    assert pairwise_accuracy(truth, guess) == approx(2.5 / 3)
    # upstream: (3>2)==(3>2), (3>3.5)==(3>3), (2>3.5)==(2>3): all True
    assert pairwise_accuracy(truth, guess, "upstream") == 1.0
    # human ties are skipped by "half"; no countable pair -> None
    assert pairwise_accuracy([4.0, 4.0], [1.0, 2.0]) is None
    # upstream counts them, order dependent: (4>4)==(1>2) is True, (4>4)==(2>1) is False
    assert pairwise_accuracy([4.0, 4.0], [1.0, 2.0], "upstream") == 1.0
    assert pairwise_accuracy([4.0, 4.0], [2.0, 1.0], "upstream") == 0.0


def test_pairwise_constant_prediction_scores_half():
    assert pairwise_accuracy([1.0, 2.0, 3.0], [5.0, 5.0, 5.0]) == 0.5


def test_pairwise_single_paper_and_bad_rule():
    assert pairwise_accuracy([3.0], [4.0]) is None
    with pytest.raises(ValueError):
        pairwise_accuracy([1.0, 2.0], [1.0, 2.0], "bogus")  # type: ignore[arg-type]


def test_spearman_undefined_cases_are_none():
    assert spearman([1.0, 2.0, 3.0], [2.0, 2.0, 2.0]) is None  # constant prediction: NaN
    assert spearman([5.0], [5.0]) is None  # one paper
    assert spearman([7.0, 4.0, 8.0], [7.0, 4.5, 6.0]) == approx(0.5)  # ranks (2,1,3) vs (3,1,2)


def test_decision_metrics_all_accept_all_reject():
    assert decision_metrics(["Reject"] * 3, ["Reject"] * 3) == {
        "decision_accuracy": 1.0,
        "decision_f1_macro": 1.0,
    }
    assert decision_metrics(["Accept"] * 2, ["Accept"] * 2)["decision_f1_macro"] == 1.0
    # truth all Reject, one false Accept: Accept F1 = 0, Reject F1 = 2*2/(2*2+0+1) = 0.8 -> macro 0.4
    res = decision_metrics(["Reject"] * 3, ["Accept", "Reject", "Reject"])
    assert res["decision_accuracy"] == approx(2 / 3)
    assert res["decision_f1_macro"] == approx(0.4)
    assert decision_metrics([], []) == {"decision_accuracy": None, "decision_f1_macro": None}


# -- reviewer accuracy ------------------------------------------------------------------------
def test_reviewer_accuracy_hand_computed():
    truth = [
        human("q1", [8, 6], "Accept", contribution=[3, None]),
        human("q2", [3, 5, 4], "Reject", contribution=[2, 1, 3]),
        human("q3", [10, 6], "Accept", contribution=[4, 3]),
        human("q4", [5], "Reject", contribution=[2]),
    ]
    preds = {
        "q1": pred("q1", 7.0, "Accept", contribution=3.0),
        "q2": pred("q2", 4.5, "Reject", contribution=2.0),
        "q3": pred("q3", 6.0, "Reject", contribution=3.0),
    }
    res = reviewer_accuracy(truth, preds)
    m = res.metrics()
    # n: human means 7, 4, 8 vs 7, 4.5, 6 -> errors 0, .5, -2
    assert m["rating_mse_n"] == approx((0 + 0.25 + 4) / 3)
    assert m["rating_mae_n"] == approx((0 + 0.5 + 2) / 3)
    # n-1: q1 targets 6, 8 (sq 1, 1 -> 1); q2 targets 4.5, 3.5, 4 (sq 0, 1, .25 -> 5/12);
    # q3 targets 6, 10 (sq 0, 16 -> 8); abs: 1, .5, 2
    assert m["rating_mse_n_minus_1"] == approx((1 + 5 / 12 + 8) / 3)
    assert m["rating_mae_n_minus_1"] == approx((1 + 0.5 + 2) / 3)
    assert m["rating_spearman"] == approx(0.5)
    assert m["rating_pairwise_accuracy"] == approx(2 / 3) == m["pairwise_accuracy"]
    # contribution: q1 has one human score (N/A) -> in n (3 papers) but not in n-1 (2 papers)
    assert m["contribution_papers"] == 3
    assert m["contribution_mse_n"] == approx(0.25 / 3)
    # q2 targets 2, 2.5, 1.5 vs 2 -> sq mean 1/6; q3 targets 3, 4 vs 3 -> .5
    assert m["contribution_mse_n_minus_1"] == approx((1 / 6 + 0.5) / 2)
    assert res.dimensions[3].papers_n_minus_1 == 2
    assert m["contribution_pairwise_accuracy"] == approx(2.5 / 3)
    # missing dimension: no human or predicted presentation at all
    assert (
        m["presentation_papers"] == 0
        and m["presentation_mse_n"] is None
        and m["presentation_spearman"] is None
    )
    # decisions A,R,A vs A,R,R: acc 2/3, F1 Accept 2/3, Reject 2/3
    assert m["decision_accuracy"] == approx(2 / 3)
    assert m["decision_f1_macro"] == approx(2 / 3)
    assert m["missing_predictions"] == ["q4"] and m["papers_predicted"] == 3


def test_reviewer_accuracy_single_paper_and_failed_parse():
    truth = [human("a", [6, 4], "Accept"), human("b", [5], "Reject")]
    preds = {"a": pred("a", 5.5, "Accept"), "b": ReviewedPaper.failed("b")}
    res = reviewer_accuracy(truth, preds)
    m = res.metrics()
    assert m["rating_papers"] == 1
    assert m["rating_mse_n"] == approx(0.25)
    # n-1: targets 4, 6 vs 5.5 -> sq 2.25, .25 -> 1.25
    assert m["rating_mse_n_minus_1"] == approx(1.25)
    assert m["rating_spearman"] is None and m["rating_pairwise_accuracy"] is None
    assert m["failed_parses"] == ["b"]
    table = reviewer_table(res)
    rating_row = table.rows[0]
    assert table.display(rating_row, table.columns[6]) == "undefined"  # Spearman
    assert "\nrating,1,0.25,0.5,1.25," in "\n" + table.to_csv()


def test_reviews_of_files_named_by_paper_id_match_the_truth():
    """`review tc1jaWpi7M.txt` stores the paper as 'tc1jawpi7m-<8 hex>' (file name + text hash)."""
    truth = [human("tc1jaWpi7M", [6, 4]), human("syoLhUJmth", [5]), human("x1", [3])]
    preds = {
        "tc1jawpi7m-0c829506": pred("tc1jawpi7m-0c829506", 5.0),
        "syolhujmth-1889d07a": pred("syolhujmth-1889d07a", 4.0),
        "syolhujmth-77777777": pred("syolhujmth-77777777", 6.0),  # two files of that name: no guess
        "x1": pred("x1", 3.0),
    }
    aligned = align_predictions(truth, preds)
    assert aligned["tc1jaWpi7M"].final["rating"] == 5.0 and aligned["x1"].final["rating"] == 3.0
    assert "syoLhUJmth" not in aligned
    res = reviewer_accuracy(truth, preds)
    assert res.papers_predicted == 2 and res.missing_predictions == ["syoLhUJmth"]


# -- paper quality ----------------------------------------------------------------------------
def _quality_papers():
    p1 = ReviewedPaper(
        "p1", "A", {"rating": [4.0, 6.0, 8.0], "soundness": [2.0, 3.0, 4.0]}, decision="Accept"
    )
    p2 = ReviewedPaper("p2", "A", {"rating": [3.0, 5.0]}, {"rating": 4.5}, decision=None)
    p3 = ReviewedPaper.failed("p3", "A")
    p4 = ReviewedPaper("p4", "B", {"rating": [10.0]}, decision="Reject")
    return [p1, p2, p3, p4]


def test_quality_rows_hand_computed():
    rows = {r.group: r for r in paper_quality(_quality_papers())}
    a = rows["A"]
    assert (a.papers, a.failed) == (3, 1)
    assert a.avg_min == approx((4 + 3) / 2)
    assert a.avg_max == approx((8 + 5) / 2)
    assert a.avg_score == approx((6 + 4.5) / 2)  # p2 uses its final 4.5, not the mean 4
    assert (a.accepted, a.decided, a.accept_rate) == (1, 1, 1.0)  # p2 has no decision
    assert a.soundness == approx(3.0) and a.presentation is None
    b = rows["B"]
    assert (b.avg_min, b.avg_max, b.accept_rate) == (10.0, 10.0, 0.0)


def test_quality_accept_threshold_and_table_notes():
    rows = {r.group: r for r in paper_quality(_quality_papers(), accept_threshold=5.0)}
    assert (rows["A"].accepted, rows["A"].decided) == (1, 2)  # 6 >= 5, 4.5 < 5
    assert rows["B"].accept_rate == 1.0
    table = quality_table(list(rows.values()), accept_threshold=5.0)
    assert any("rating >= 5" in n for n in table.notes)
    assert table.display(table.rows[0], table.columns[6]) == "50.00% (1/2)"


def test_bootstrap_ci_is_seeded_and_brackets_the_mean():
    values = [3.0, 4.0, 5.0, 6.0, 7.0, 4.5]
    low, high = bootstrap_ci(values, seed=1)
    assert low < sum(values) / len(values) < high
    assert bootstrap_ci(values, seed=1) == (low, high)
    assert bootstrap_ci([5.0]) is None  # one paper: no interval
    assert bootstrap_ci([5.0, 5.0, 5.0]) == (5.0, 5.0)
    rows = paper_quality(_quality_papers(), ci=True, seed=3)
    assert "avg_score" in rows[0].ci and "avg_score" not in rows[1].ci  # B has one paper
    csv_text = quality_table(rows, ci=True).to_csv()
    assert "avg_score_ci_low" in csv_text.splitlines()[0]


# -- detection --------------------------------------------------------------------------------
def test_detection_metrics_hand_computed():
    labels = [0, 0, 0, 1, 1, 1]
    scores = [0.10, 0.60, 0.20, 0.90, 0.40, 0.95]
    m = detection_metrics(labels, scores, 0.5)
    assert m["accuracy"] == approx(4 / 6)
    assert m["f1"] == approx(2 / 3)  # tp 2, fp 1, fn 1
    assert m["auroc"] == approx(8 / 9)
    assert detection_metrics([1, 1], [0.2, 0.9], 0.5)["auroc"] is None  # one class: undefined


def test_detection_row_labels_and_threshold_rules():
    results = {
        "a": {"probability": 0.7, "criterion": 2.0},
        "b": {"probability": 0.5, "label": "human"},
        "c": {"criterion": 1.0},
    }
    # default score: probability, as some results have one (c, without it, goes to No score) ...
    row = detection_row("r", results, {"a": 1, "c": 0})
    assert (row.score, row.threshold, row.papers, row.no_score) == ("probability", 0.5, 2, ["c"])
    assert detection_row("r", results, {"a": 1, "c": 0}, score="probability") == row
    # ... so a criterion's threshold needs --score criterion, and the criterion needs a threshold
    with pytest.raises(InputError, match=r"--threshold 1\.5 is not a probability .* in r\.jsonl .* --score criterion"):
        detection_row("r", results, {"a": 1}, threshold=1.5, where="r.jsonl")
    assert detection_row("r", results, {"a": 1}, score="criterion", threshold=1.5).score == "criterion"
    with pytest.raises(InputError, match=r"in r\.jsonl have no calibrated 'probability'.*--score criterion --threshold T"):
        detection_row("r", {"c": {"criterion": 1.0}}, {"c": 1}, where="r.jsonl")
    row = detection_row("r", results, {"a": 1}, score="probability")
    # b: 0.5 is not > 0.5 -> human (right); a -> generated (right); c unlabelled
    assert (row.papers, row.accuracy, row.unlabelled) == (2, 1.0, ["c"])
    with pytest.raises(InputError):
        detection_row("r", {"x": {"probability": 0.2, "label": "maybe"}})
    table = detection_table([row])
    assert table.rows[0]["unlabelled"] == 1
