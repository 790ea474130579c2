"""Property tests: the parsers never raise on arbitrary or mutated output, and parse -> render -> parse
is stable (on our fixtures and on generated reviews).

Fast tier: 5 x 60 = 300 examples per run. Slow tier (``-m slow``): 3 x 3,500 = 10,500 examples.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cycleresearcher.review import Review, ReviewerOpinion, parse_review
from cycleresearcher.review.render import render_review

DATA = Path(__file__).parents[1] / "data" / "review"
TEXTS = [p.read_text(encoding="utf-8") for p in sorted(DATA.glob("*.txt"))]
FORMATS = ("auto", "cyclereviewer", "deepreviewer")
SCORES = ("rating", "soundness", "presentation", "contribution", "confidence")

# pieces of the formats, so that random edits hit the parsers' decision points
TOKENS = [
    "\n}\n", "}", "{", "```}", "\n```\n", "\\boxed_review{\n", "\\boxed_simreviewers{\n", "\\boxed_questions{\n",
    "\\boxed_verification{", "## Reviewer 1\n", "## Reviewer\n", "### Rating\n\n", "## Rating\n\n", "## Rating:\n\n",
    "## Confidence\n\n", "## Meta Review\n\n", "## Paper Decision\n\n", "## Decision:\n\n", "**********\n",
    "### justification_for_why_not_higher_score\n\n", "N/A", "10: strong accept", "3 good", "5.5", "not accepted",
    "Accept", "Reject", "#### comment\n", "\n\n", "\r\n", "\x00", "\u00e9\u4e2d", "Fast Mode", "Best Mode",
]  # fmt: skip
FAST = settings(max_examples=60, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
SLOW = settings(max_examples=3500, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])


def check_total(review: Review) -> None:
    """What 'never raises' must still guarantee: a typed, serialisable, self-consistent record."""
    assert isinstance(review, Review)
    assert not any("internal parser error" in w for w in review.warnings), review.warnings
    assert review.decision in (None, "Accept", "Reject")
    d = review.to_dict()
    json.dumps(d)
    ratings = review.ratings
    if ratings:
        assert review.min_rating <= review.avg_rating <= review.max_rating
    for r in review.reviewers:
        for key in SCORES:
            value = getattr(r, key)
            assert value is None or isinstance(value, float)


@st.composite
def mutated(draw, ops=("cut", "delete", "insert", "duplicate")):
    """A fixture with random edits: cuts, deletions, insertions of format tokens or random text."""
    text = draw(st.sampled_from(TEXTS))
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(ops))
        i = draw(st.integers(0, len(text)))
        if op == "cut":
            text = text[:i]
        elif op == "delete":
            text = text[:i] + text[i + draw(st.integers(1, 400)) :]
        elif op == "insert":
            piece = draw(st.one_of(st.sampled_from(TOKENS), st.text(max_size=30)))
            text = text[:i] + piece + text[i:]
        else:
            j = min(len(text), i + draw(st.integers(1, 600)))
            text = text[:j] + text[i:j] + text[j:]
    return text


def semantic(review: Review) -> dict:
    d = review.to_dict(include_raw=False)
    d.pop("warnings")
    for r in d["reviewers"]:
        r.pop("warnings")
    return d


# ---- never raise --------------------------------------------------------------------------------
@FAST
@given(st.text(max_size=2000), st.sampled_from(FORMATS))
def test_never_raises_on_arbitrary_text(text, fmt):
    check_total(parse_review(text, format=fmt))


@FAST
@given(mutated(), st.sampled_from(FORMATS))
def test_never_raises_on_mutated_output(text, fmt):
    check_total(parse_review(text, format=fmt))


@pytest.mark.slow
@pytest.mark.fuzz
@SLOW
@given(st.text(max_size=3000), st.sampled_from(FORMATS))
def test_never_raises_on_arbitrary_text_slow(text, fmt):
    check_total(parse_review(text, format=fmt))


@pytest.mark.slow
@pytest.mark.fuzz
@SLOW
@given(mutated(), st.sampled_from(FORMATS))
def test_never_raises_on_mutated_output_slow(text, fmt):
    check_total(parse_review(text, format=fmt))


# ---- parse -> render -> parse -------------------------------------------------------------------
@pytest.mark.parametrize("index", range(len(TEXTS)))
def test_fixture_render_round_trip(index):
    first = parse_review(TEXTS[index])
    text = render_review(first)
    second = parse_review(text)
    assert semantic(second) == semantic(first)
    assert second.warnings == first.warnings
    assert render_review(second) == text  # rendering a re-parsed review is a fixed point


def check_round_trip(text: str) -> None:
    first = parse_review(text)
    second = parse_review(render_review(first))
    assert semantic(second) == semantic(first)


# Cut-off and gapped outputs (what real generations suffer from) keep their parse through a render.
# Inserted stray braces and markers are not included: text like "}\n" inside a block is ambiguous,
# and the parse may legitimately read a different block end once the text is re-rendered.
CORRUPTED = mutated(ops=("cut", "delete"))


@FAST
@given(CORRUPTED)
def test_round_trip_stable_on_corrupted_output(text):
    """Whatever a cut / gapped output parses to, rendering and re-parsing it changes nothing."""
    check_round_trip(text)


@pytest.mark.slow
@pytest.mark.fuzz
@SLOW
@given(CORRUPTED)
def test_round_trip_stable_on_corrupted_output_slow(text):
    check_round_trip(text)


# generated reviews: text without format markup (the parsers may legitimately read markup)
_WORDS = st.text(
    alphabet=st.characters(whitelist_categories=("Lu", "Ll", "Nd"), whitelist_characters=" .,;()'-"),
    min_size=1,
    max_size=40,
)
_SECTION = st.lists(_WORDS.map(str.strip).filter(bool), min_size=1, max_size=3).map("\n\n".join)
_OPT_SECTION = st.one_of(st.none(), _SECTION)


def _score(high: int):
    return st.one_of(st.none(), st.integers(1, high).map(float))


@st.composite
def opinions(draw, cyclereviewer: bool):
    op = ReviewerOpinion(
        summary=draw(_SECTION), strengths=draw(_OPT_SECTION), weaknesses=draw(_OPT_SECTION),
        suggestions=None if cyclereviewer else draw(_OPT_SECTION), questions=draw(_OPT_SECTION),
        ethics_flag=draw(_OPT_SECTION) if cyclereviewer else None,
        rating=draw(_score(10)), soundness=draw(_score(4)), presentation=draw(_score(4)),
        contribution=draw(_score(4)), confidence=draw(_score(5)),
    )  # fmt: skip
    labels = {1: "poor", 2: "fair", 3: "good", 4: "excellent"}
    for key in ("soundness", "presentation", "contribution"):
        value = getattr(op, key)
        if value is not None and draw(st.booleans()):
            op.scores_text[key] = f"{int(value)} {labels[int(value)]}"
    if op.rating is not None and draw(st.booleans()):
        op.scores_text["rating"] = f"{int(op.rating)}: {draw(_WORDS).strip() or 'label'}"
    return op


@st.composite
def cyclereviewer_reviews(draw):
    reviewers = draw(st.lists(opinions(True), min_size=1, max_size=5))
    review = Review(
        reviewers=reviewers, meta_review=draw(_SECTION), justification_higher=draw(_OPT_SECTION),
        justification_lower=draw(_OPT_SECTION), decision=draw(st.sampled_from(["Accept", "Reject"])),
        format=draw(st.sampled_from(["cyclereviewer-a", "cyclereviewer-b"])),
    )  # fmt: skip
    review.final = {k: review.mean(k) for k in SCORES}
    return review


@st.composite
def deepreviewer_reviews(draw):
    mode = draw(st.sampled_from(["fast", "standard", "best"]))
    reviewers = [] if mode == "fast" else draw(st.lists(opinions(False), min_size=1, max_size=5))
    final = {
        k: draw(st.one_of(st.none(), st.floats(1, 10 if k == "rating" else 5).map(lambda v: round(v, 2))))
        for k in SCORES
    }
    blocks = (["simreviewers", "verification"] if reviewers else []) + ["review"]
    review = Review(
        reviewers=reviewers, final=final, decision=draw(st.sampled_from([None, "Accept", "Reject"])),
        final_text={k: draw(_SECTION) for k in ("summary", "strengths", "weaknesses", "suggestions", "questions")},
        verification=draw(_SECTION) if reviewers else None, blocks=blocks, format="deepreviewer", mode=mode,
    )  # fmt: skip
    return review


@FAST
@given(st.one_of(cyclereviewer_reviews(), deepreviewer_reviews()))
def test_generated_review_survives_render_and_parse(review):
    again = parse_review(render_review(review))
    got, want = semantic(again), semantic(review)
    for r in want["reviewers"]:  # the parser records the raw score line it read; generated ones may lack it
        r.pop("scores_text")
    for r in got["reviewers"]:
        r.pop("scores_text")
    assert got == want
