"""Reviewer prompts are byte-exact (FORMATS.md §2/§3) and Best mode's turn 2 is rebuilt byte for byte."""

from __future__ import annotations

import json

import pytest

from cycleresearcher.errors import InputError
from cycleresearcher.prompts import load
from cycleresearcher.review import cyclereviewer as cr
from cycleresearcher.review import deepreviewer as dr
from cycleresearcher.review.retrieval import RetrievalResult
from support.fake_engine import FakeEngine

LEAD = "You are an expert academic reviewer tasked with providing a thorough and balanced evaluation of research papers."
ORDER = (
    "When you simulate different reviewers, write the sections in this order: Summary, Soundness, Presentation, "
    "Contribution, Strengths, Weaknesses, Suggestions, Questions, Rating and Confidence."
)


def test_cyclereviewer_flush_prompt_is_the_859_character_form():
    text = cr.system_prompt()
    assert text == cr.system_prompt("flush")
    assert len(text) == 859
    assert text.startswith(LEAD + " For each paper submitted, conduct a comprehensive review")
    assert text.endswith("\n\nYou need to fill out **4** review opinions.")
    lines = text.split("\n")
    assert lines[2] == "1. Summary: Briefly outline main points and objectives."
    assert lines[10] == "9. Meta Review: Provide overall assessment and recommendation (Accept/Reject)."
    assert all(line == line.lstrip() for line in lines)


def test_cyclereviewer_indented_form_has_the_same_words_with_12_and_4_spaces():
    flush, indented = cr.system_prompt("flush").split("\n"), cr.system_prompt("indented").split("\n")
    assert len(flush) == len(indented)
    assert indented[0] == flush[0]
    for f, i in zip(flush[1:], indented[1:], strict=True):
        assert i == ("    " if f == "" else " " * 12 + f)


def test_cyclereviewer_unknown_prompt_form_is_an_input_error():
    with pytest.raises(InputError, match="flush"):
        cr.CycleReviewer(model="embedded", engine=FakeEngine(), prompt_form="tabbed")  # type: ignore[arg-type]


def test_deepreviewer_prompts_compose_as_documented():
    fast = dr.system_prompt("Fast Mode")
    assert (
        fast
        == LEAD
        + " Your thinking mode is Fast Mode. In this mode, you should quickly provide the review results."
    )
    std = dr.system_prompt("standard", 3)
    assert std.startswith(LEAD + " Your thinking mode is Standard Mode.")
    assert "simulating 3 different reviewers" in std and "{n}" not in std
    assert std.endswith("provide complete review results." + ORDER)  # no space before the ordering sentence
    best = dr.system_prompt("Best Mode", 4)
    assert best.startswith(LEAD + " Your thinking mode is Best Mode.")
    assert "please provide three different questions. I will help you with the search." in best
    assert best.endswith("results." + ORDER)
    authors = dr.system_prompt("best", 4, best_variant="authors")
    assert authors == best[len(LEAD) + 1 : -len(ORDER)] + " " + ORDER


@pytest.mark.parametrize("bad", ["turbo", "", "Best"[:2]])
def test_deepreviewer_unknown_mode_is_an_input_error(bad):
    with pytest.raises(InputError, match="Fast Mode"):
        dr.system_prompt(bad)


def test_deepreviewer_reviewer_num_must_be_positive():
    with pytest.raises(InputError):
        dr.system_prompt("standard", 0)


def test_upstream_sampling_defaults_per_family():
    c = cr.CycleReviewer(model="embedded", engine=FakeEngine(context_length=None))
    d = dr.DeepReviewer(model="embedded", engine=FakeEngine(context_length=None))
    assert (c.sampling.temperature, c.sampling.top_p, c.sampling.max_tokens) == (0.4, 0.95, 7000)
    assert (d.sampling.temperature, d.sampling.top_p, d.sampling.max_tokens) == (0.4, 0.95, 35000)
    # an engine that does not know its window falls back to the upstream context
    assert (c.context_length, d.context_length) == (50000, 90000)
    assert cr.CycleReviewer(model="embedded", engine=FakeEngine(), max_tokens=64).sampling.max_tokens == 64
    assert load("cyclereviewer")["source"] and load("deepreviewer")["source"]


def test_qa_message_layout_on_own_data():
    questions = ["What is {answer} here?", "Second question?"]
    results = [RetrievalResult("An answer.", "[0] Title: A Text: alpha\n[1] Title: B Text: beta")]
    msg = dr.build_qa_message(questions, results)
    assert msg == (
        "## Question 1\n\nWhat is {answer} here?\n\n### Passage\n\n"
        "[0] Title: A **--**Text: alpha\n[1] Title: B **--**Text: beta\n\n### Answer\n\nAn answer.\n\n**********\n\n"
        "## Question 2\n\nSecond question?\n\n### Passage\n\nNo information retrieved.\n\n"
        "### Answer\n\nNo information retrieved.\n\n**********\n\n"
    )
    # the service's dicts work as well as RetrievalResults
    assert (
        dr.build_qa_message(
            questions[:1],
            [{"output": "An answer.", "final_passages": "[0] Title: A Text: alpha\n[1] Title: B Text: beta"}],
        )
        == msg.split("## Question 2")[0]
    )


@pytest.mark.parametrize("n", ["001", "002"])
def test_best_prompt_authors_variant_matches_the_released_runs(fixtures_dir, n):
    meta = json.loads(
        (fixtures_dir / "deepreviewer" / f"deepreviewer_best_meta_{n}.json").read_text(encoding="utf-8")
    )
    assert dr.system_prompt("Best Mode", 4, best_variant="authors") == meta["system_prompt_used"]
    assert dr.system_prompt("Best Mode", 4) != meta["system_prompt_used"]


@pytest.mark.parametrize("n", ["001", "002"])
def test_qa_message_rebuilds_the_released_turn2_byte_for_byte(fixtures_dir, n):
    folder = fixtures_dir / "deepreviewer"
    meta = json.loads((folder / f"deepreviewer_best_meta_{n}.json").read_text(encoding="utf-8"))
    expected = (folder / f"deepreviewer_best_qa_input_{n}.txt").read_bytes()
    built = dr.build_qa_message(meta["questions"], meta["retrieval"])
    assert built.encode("utf-8") == expected
    # and from our own result type, as the retrievers return it
    typed = [RetrievalResult(r["output"], r["final_passages"]) for r in meta["retrieval"]]
    assert dr.build_qa_message(meta["questions"], typed).encode("utf-8") == expected


@pytest.mark.parametrize("n", ["001", "002"])
def test_questions_parsed_from_turn1_are_the_ones_the_authors_searched(fixtures_dir, n):
    from cycleresearcher.review.parse import parse_review

    folder = fixtures_dir / "deepreviewer"
    meta = json.loads((folder / f"deepreviewer_best_meta_{n}.json").read_text(encoding="utf-8"))
    turn1 = (folder / f"deepreviewer_best_step1_{n}.txt").read_text(encoding="utf-8")
    assert parse_review(turn1, "deepreviewer").questions == meta["questions"]
