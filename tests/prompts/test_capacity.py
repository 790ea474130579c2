"""Fitting the bounded grammars to a token budget: the longest output a structure allows, and the
largest words per paragraph that keep it within max_tokens (the embedded DeepReviewer Standard
review was cut inside its final review at 3,072 tokens before)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from cycleresearcher.prompts import grammars as S
from cycleresearcher.prompts.grammars.capacity import capacity, fit_bounds


def chars4(text: str) -> int:
    return len(text) // 4 + 1


def test_capacity_counts_words_and_fixed_text() -> None:
    b = S.Bounds(words=7, min_words=2, paragraphs=3)
    from cycleresearcher.prompts.grammars.slots import Kit

    kit = Kit("bounded", b)
    node = S.seq("## Head\n\n", kit.paras(), "\n}", S.alt("1 poor", "4 excellent"))
    cap = capacity(node)
    assert cap.words == 3 * 7
    # the longest option is kept, the paragraph breaks are fixed text, word spaces are not
    assert cap.scaffold == "## Head\n\n" + "\n\n" * 2 + "\n}" + "4 excellent"


def test_open_profile_is_unbounded() -> None:
    assert capacity(S.structure("deepreviewer-fast", "open")).words is None
    with pytest.raises(ValueError, match="bounded"):
        fit_bounds(lambda b: S.structure("deepreviewer-fast", "open", b), S.Bounds(), 1000, chars4)


@pytest.mark.parametrize("name", S.STRUCTURES)
@pytest.mark.parametrize("bounds", [S.TINY, S.EMBEDDED_BOUNDS], ids=["tiny", "embedded"])
def test_no_string_of_the_grammar_has_more_words_than_its_capacity(name: str, bounds: S.Bounds) -> None:
    node = S.structure(name, "bounded", bounds)
    cap = capacity(node)
    assert cap.words is not None and cap.words > 0
    fixed_words = len(cap.scaffold.split())
    for seed in range(6):
        text = S.sample(node, seed)
        assert len(text.split()) <= cap.words + fixed_words, (name, seed)


def test_a_structure_that_fits_keeps_its_bounds() -> None:
    build = lambda b: S.structure("deepreviewer-fast", "bounded", b)  # noqa: E731
    fit = fit_bounds(build, S.EMBEDDED_BOUNDS, 100_000, chars4)
    assert fit.bounds == S.EMBEDDED_BOUNDS and fit.note is None and fit.fits


@pytest.mark.parametrize("budget", [1200, 2000, 3072])
def test_the_fitted_words_are_the_most_that_fit(budget: int) -> None:
    bounds = replace(S.EMBEDDED_BOUNDS, reviewers=4)
    build = lambda b: S.structure("deepreviewer-standard", "bounded", b)  # noqa: E731
    fit = fit_bounds(build, bounds, budget, chars4, tokens_per_word=4.0)
    w = fit.bounds.words
    assert 1 <= w < bounds.words and fit.fits and str(w) in (fit.note or "")

    def worst(b: S.Bounds) -> float:
        cap = capacity(build(b))
        return max(chars4(cap.scaffold), -(-len(cap.scaffold) // 1.5)) + 4.0 * cap.words

    assert worst(fit.bounds) <= budget < worst(replace(fit.bounds, words=w + 1))
    assert fit.bounds.min_words <= w and fit.bounds.reviewers == 4


def test_a_budget_too_small_for_any_words_says_what_to_do() -> None:
    build = lambda b: S.structure("deepreviewer-standard", "bounded", b)  # noqa: E731
    bounds = replace(S.EMBEDDED_BOUNDS, reviewers=8)
    fit = fit_bounds(build, bounds, 200, chars4)
    assert not fit.fits and fit.bounds == bounds  # cut either way: shrinking would only lose the text
    assert "raise max_tokens" in (fit.note or "") and "reviewers" in (fit.note or "")


def test_the_reviewer_fits_its_grammar_to_the_request_budget() -> None:
    from cycleresearcher.review.deepreviewer import DeepReviewer
    from support.fake_engine import FakeEngine

    other = FakeEngine()
    other.model_id = "qwen2.5:0.5b"  # no trained format: constrained, bounded free text
    dr = DeepReviewer(engine=other)
    loose = dr.grammar(1, mode="standard", reviewer_num=4)
    fitted = dr.grammar(1, 3072, mode="standard", reviewer_num=4)
    bounds = replace(S.Bounds(), reviewers=4)
    expect = fit_bounds(
        lambda b: S.structure("deepreviewer-standard", "bounded", b), bounds, 3072, other.count_text
    )
    assert expect.bounds.words < bounds.words  # 60 words x 26 paragraphs do not fit 3,072 tokens
    assert fitted == S.grammar_for("deepreviewer-standard", "bounded", expect.bounds) != loose
    # the released models' open grammar has no length: the budget changes nothing
    released = DeepReviewer(engine=FakeEngine(), constrain=True)
    assert released.grammar(1, 64, mode="standard") == S.grammar_for("deepreviewer-standard", "open")


def test_a_review_whose_structure_cannot_fit_says_so() -> None:
    from cycleresearcher.review.deepreviewer import DeepReviewer
    from support.fake_engine import FakeEngine

    other = FakeEngine()
    other.model_id = "qwen2.5:0.5b"
    dr = DeepReviewer(engine=other, max_tokens=150)
    [outcome] = dr.run(["# A paper\n\nSome text about graphs."], mode="standard", reviewer_num=4)
    assert outcome.review is not None
    assert any("does not fit 150 new tokens" in w for w in outcome.review.warnings), outcome.review.warnings
