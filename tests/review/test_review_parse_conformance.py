"""Conformance: every real DeepReviewer output in the shared fixtures parses to expected.json exactly.

The fixtures are read from CYCLERESEARCHER_FIXTURES (never copied into the repository).
"""

from __future__ import annotations

import json

import pytest

from cycleresearcher.review import parse_review
from cycleresearcher.review.render import render_review

SCORES = ("rating", "soundness", "presentation", "contribution", "confidence")


@pytest.fixture(scope="module")
def deep_dir(fixtures_dir):
    return fixtures_dir / "deepreviewer"


@pytest.fixture(scope="module")
def expected(deep_dir):
    return json.loads((deep_dir / "expected.json").read_text(encoding="utf-8"))


def test_expected_covers_every_output_file(deep_dir, expected):
    outputs = {p.name for p in deep_dir.glob("deepreviewer_*.txt") if "_qa_input_" not in p.name}
    assert outputs == set(expected)
    assert len(outputs) == 20


def _actual(review, want):
    got = {"boxed_blocks": review.blocks}
    if "final_review" in want:
        got["final_review"] = {**review.final, "decision": review.decision}
        got["n_simulated_reviewers"] = len(review.reviewers)
        got["simulated_reviewers"] = [
            {
                **{k: getattr(r, k) for k in SCORES},
                "rating_raw": r.scores_text.get("rating"),
                "soundness_raw": r.scores_text.get("soundness"),
            }
            for r in review.reviewers
        ]
        if "mean_sim_rating" in want:
            got["mean_sim_rating"] = round(review.avg_rating, 4)  # expected.json keeps 4 decimals
    if "questions" in want:
        got["questions"] = review.questions
    return got


def test_every_deepreviewer_output_parses_exactly(deep_dir, expected):
    mismatches = {}
    for name, want in expected.items():
        review = parse_review((deep_dir / name).read_text(encoding="utf-8"))
        want_checked = {k: v for k, v in want.items() if k != "upstream_extract_questions_count"}
        got = _actual(review, want_checked)
        if got != want_checked:
            mismatches[name] = {
                k: (want_checked[k], got.get(k)) for k in want_checked if got.get(k) != want_checked[k]
            }
        # real outputs are complete and satisfy the mean-of-reviewers invariant: no warnings at all
        assert review.warnings == [], (name, review.warnings)
        assert review.format == "deepreviewer" and not review.truncated
        expected_mode = name.split("_")[1]
        assert review.mode == expected_mode, name
    assert mismatches == {}


@pytest.mark.parametrize("n", [1, 2])
def test_best_step1_questions_match_meta(deep_dir, n):
    meta = json.loads((deep_dir / f"deepreviewer_best_meta_00{n}.json").read_text(encoding="utf-8"))
    review = parse_review((deep_dir / f"deepreviewer_best_step1_00{n}.txt").read_text(encoding="utf-8"))
    assert review.questions == meta["questions"]
    assert len(review.questions) == 3
    assert review.analysis and review.final["rating"] is None and review.decision is None


def test_real_outputs_survive_render_and_reparse(deep_dir, expected):
    for name in expected:
        first = parse_review((deep_dir / name).read_text(encoding="utf-8"))
        again = parse_review(render_review(first))
        assert again.to_dict(include_raw=False) == first.to_dict(include_raw=False), name
