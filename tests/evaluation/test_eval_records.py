"""Score / decision readers and the typed evaluation records."""

from __future__ import annotations

import math

import pytest

from cycleresearcher.evaluation.records import HumanPaper, ReviewedPaper, normalize_decision, parse_score


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (
            "10: strong accept, should be highlighted at the conference",
            10.0,
        ),  # never the first character only
        ("3 good", 3.0),
        ("**6**", 6.0),
        ("5.75", 5.75),
        (8, 8.0),
        ({"value": "4 excellent"}, 4.0),  # OpenReview API v2
        ("N/A", None),
        ("excellent", None),
        (None, None),
        (float("nan"), None),
        (True, None),
    ],
)
def test_parse_score(value, expected):
    assert parse_score(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Accept (poster)", "Accept"),
        ("Accept (oral)", "Accept"),
        ("Reject", "Reject"),
        ("The paper is not accepted.", "Reject"),
        ("I cannot accept this paper", "Reject"),
        ("Invite to Workshop Track", None),
        ("", None),
        (None, None),
        (True, "Accept"),
    ],
)
def test_normalize_decision(value, expected):
    assert normalize_decision(value) == expected


def test_reviewed_paper_prefers_final_score_and_falls_back_to_reviewer_mean():
    data = {
        "decision": "Accept",
        "final": {"rating": 6.5, "soundness": None},
        "reviewers": [
            {"rating": 5, "soundness": 2},
            {"rating": "8: accept", "soundness": "3 good"},
            {"rating": "N/A"},
        ],
    }
    paper = ReviewedPaper.from_review_dict(data, "x")
    assert paper.ratings == [5.0, 8.0]  # the N/A reviewer has no rating
    assert paper.score("rating") == 6.5  # final wins
    assert paper.score("soundness") == 2.5  # mean of parsed reviewers
    assert paper.score("presentation") is None  # missing dimension stays missing
    assert paper.parsed and paper.decision == "Accept"


def test_final_only_review_has_one_rating_and_empty_review_is_failed():
    fast = ReviewedPaper.from_review_dict({"final": {"rating": 4.25}, "reviewers": []}, "fast")
    assert fast.ratings == [4.25] and fast.parsed
    empty = ReviewedPaper.from_review_dict({"decision": "Reject", "reviewers": []}, "empty")
    assert not empty.parsed and empty.ratings == []


def test_human_paper_reads_top_level_or_content_rating_and_skips_missing():
    paper = HumanPaper.from_openreview(
        {
            "id": "abc",
            "decision": "Accept (spotlight)",
            "review": [
                {"rating": 6, "content": {"soundness": "3 good", "rating": "6: marginally above"}},
                {"content": {"rating": "10: strong accept", "soundness": "N/A"}},
            ],
        }
    )
    assert paper.decision == "Accept"
    assert paper.scores("rating") == [6.0, 10.0]
    assert paper.scores("soundness") == [3.0]
    assert paper.scores("presentation") == []
    assert not math.isnan(sum(paper.scores("rating")))
