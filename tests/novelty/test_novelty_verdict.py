"""The verdict's wording rules: it names its evidence, and never says an idea is new in general."""

from __future__ import annotations

import re

import pytest
from novelty_corpus import CLOSE_IDEA, FAR_IDEA, corpus_bib, no_user_cache  # noqa: F401  (fixtures)

from cycleresearcher.novelty import CheckSettings, NoveltyChecker, Subject
from cycleresearcher.novelty.retrieval import LEXICAL
from cycleresearcher.novelty.verdict import FORBIDDEN, THRESHOLDS, verdict_text


def _no_claim(text: str) -> None:
    unquoted = re.sub(r'"[^"]*"', "", text).lower()  # a quoted title may say anything
    for word in FORBIDDEN:
        assert word not in unquoted, f"the verdict claims too much ({word!r}): {text}"


def test_close_names_the_work_its_similarity_and_the_threshold():
    text, close = verdict_text("Prior Work", "2020", 0.91, 0.7, {"references": 3, "corpus:lib.bib": 10})
    assert close
    assert (
        text
        == 'close prior work: "Prior Work" (2020; similarity 0.91, at or above the calibrated threshold 0.70)'
    )
    _no_claim(text)


def test_not_close_names_how_many_works_and_which_sources():
    text, close = verdict_text("Some Work", "", 0.41, 0.7, {"references": 3, "corpus:lib.bib": 10})
    assert not close
    assert text.startswith(
        "no close prior work among 13 works searched (sources: references 3, corpus:lib.bib 10;"
    )
    assert "highest similarity 0.41, below the calibrated threshold 0.70" in text
    _no_claim(text)


def test_nothing_searched_gives_no_verdict_and_a_user_threshold_is_called_theirs():
    text, close = verdict_text(None, "", None, 0.7, {})
    assert not close and text.startswith("no verdict: nothing was searched")
    text, _ = verdict_text("W", "", 0.5, 0.4, {"references": 1}, calibrated=False)
    assert "the threshold you set 0.40" in text


def test_the_boundary_counts_as_close():
    assert verdict_text("W", "", 0.7, 0.7, {"references": 1})[1]
    assert not verdict_text("W", "", 0.6999, 0.7, {"references": 1})[1]


@pytest.mark.parametrize("idea, close", [(CLOSE_IDEA, True), (FAR_IDEA, False)])
def test_checker_verdicts_follow_the_rules_on_a_real_corpus(corpus_bib, idea, close):
    checker = NoveltyChecker(CheckSettings(embeddings=False, corpus=[corpus_bib]))
    report = checker.check(Subject("idea", idea=idea))
    assert report.measure == LEXICAL and report.threshold == THRESHOLDS[LEXICAL]
    assert report.close is close
    assert report.works_searched == 6 and report.searched == {"corpus:library.bib": 6}
    best = max(report.matches, key=lambda m: m.similarity)
    if close:
        assert report.verdict.startswith(
            'close prior work: "Compressing the key-value cache of transformer decoders" (2023;'
        )
        assert best.similarity >= report.threshold
    else:
        assert report.verdict.startswith(
            "no close prior work among 6 works searched (sources: corpus:library.bib 6;"
        )
        assert best.similarity < report.threshold
    _no_claim(report.verdict)
