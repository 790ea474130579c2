"""Win rate: strict verdict parsing, seeded order, mapping back to the sets, resume; and one real
judge run on the embedded model (slow)."""

from __future__ import annotations

import re

import pytest

from cycleresearcher.evaluation.loading import load_review_texts
from cycleresearcher.evaluation.winrate import (
    Pair,
    aggregate,
    build_messages,
    judge,
    judge_prompt,
    parse_verdicts,
    plan_pairs,
    to_outcomes,
    winrate_table,
)
from cycleresearcher.store import RunStore
from support.fake_engine import FakeEngine

ASPECTS = ["Accuracy", "Specificity", "Constructiveness", "Overall"]


def test_parse_verdicts_is_strict():
    text = "\n".join(
        [
            "Both reviews are short. Accuracy: A seems better but let me finish.",  # prose: ignored
            "**Accuracy**: **A**",
            "Specificity: Tie.",
            "Constructiveness: Review B",  # not an explicit A/B/Tie
            "Overall: a",  # lower-case a is not accepted
        ]
    )
    assert parse_verdicts(text, ASPECTS) == {
        "Accuracy": "A",
        "Specificity": "Tie",
        "Constructiveness": None,
        "Overall": None,
    }


def test_parse_verdicts_last_line_wins_and_nothing_is_unparsed():
    assert parse_verdicts("Overall: A\n...\nOverall: B", ["Overall"]) == {"Overall": "B"}
    assert parse_verdicts("I prefer the first review.", ASPECTS) == dict.fromkeys(ASPECTS)


def test_to_outcomes_maps_positions_back_to_sets():
    verdicts = {"Accuracy": "A", "Overall": "B", "Specificity": "Tie", "Constructiveness": None}
    assert to_outcomes(verdicts, "a") == {
        "Accuracy": "a",
        "Overall": "b",
        "Specificity": "tie",
        "Constructiveness": "unparsed",
    }
    assert to_outcomes(verdicts, "b")["Accuracy"] == "b"


def test_plan_pairs_seeded_and_common_papers_only():
    a = {f"p{i}": f"a{i}" for i in range(40)}
    b = {f"p{i}": f"b{i}" for i in range(1, 41)}
    pairs = plan_pairs(a, b, seed=7)
    assert [p.paper_id for p in pairs] == sorted(set(a) & set(b))
    firsts = [p.first for p in pairs]
    assert firsts == [p.first for p in plan_pairs(a, b, seed=7)]
    assert firsts != [p.first for p in plan_pairs(a, b, seed=8)]
    assert 5 < firsts.count("a") < 34  # both orders occur


def test_build_messages_puts_first_review_in_position_a_and_keeps_braces():
    pair = Pair("x", "alpha {review_b} text", "beta", "b")
    user = build_messages(pair, paper="The paper {body}")[1]["content"]
    assert user.index("beta") < user.index("alpha {review_b} text")  # B's review shown first
    assert "The paper {body}" in user
    for aspect in judge_prompt()["aspects"]:
        assert f"{aspect}: A, B or Tie" in user


def _prefers_specific(request, k):
    """A scripted judge: prefers the review that cites a concrete place in the paper."""
    user = request.messages[1]["content"]
    first = user.split("## Review A", 1)[1].split("## Review B", 1)[0]
    second = user.split("## Review B", 1)[1].split("## Your task", 1)[0]
    specific = re.compile(r"Equation|Section|Figure|Table")
    a, b = bool(specific.search(first)), bool(specific.search(second))
    verdict = "Tie" if a == b else "A" if a else "B"
    return "\n".join(f"{x}: {verdict}" for x in ASPECTS[:3]) + "\nOverall: the first one"


def test_judge_maps_verdicts_to_sets_whatever_the_order(data_dir, tmp_path):
    a = load_review_texts(data_dir / "evaluation/winrate/a")
    b = load_review_texts(data_dir / "evaluation/winrate/b")
    for seed in (0, 1, 2):
        engine = FakeEngine(_prefers_specific)
        judgements = judge(engine, plan_pairs(a, b, seed))
        won = {j.paper_id: j.outcomes["Accuracy"] for j in judgements}
        assert won == {"w1": "b", "w2": "a", "w3": "b"}  # w4 is only in B
        assert all(j.outcomes["Overall"] == "unparsed" for j in judgements)
    rows = aggregate(judgements, ASPECTS)
    acc = rows[0]
    assert (acc.a_wins, acc.b_wins, acc.ties, acc.unparsed) == (1, 2, 0, 0)
    assert acc.a_win_rate == pytest.approx(1 / 3)
    overall = rows[3]
    assert overall.unparsed == 3 and overall.a_win_rate is None
    table = winrate_table(rows, judgements, "deep", "cycle", seed=2)
    assert "undefined" in table.to_markdown()


def test_judge_engine_error_is_unparsed_and_store_resumes(data_dir, tmp_path):
    a = load_review_texts(data_dir / "evaluation/winrate/a")
    b = load_review_texts(data_dir / "evaluation/winrate/b")
    pairs = plan_pairs(a, b, 0)
    with RunStore(tmp_path / "run") as store:
        engine = FakeEngine("Accuracy: A\nSpecificity: B\nConstructiveness: Tie\nOverall: A", fail_on=[1])
        first = judge(engine, pairs, store=store)
        assert len(engine.calls) == 3
        assert first[1].error and set(first[1].outcomes.values()) == {"unparsed"}
        again = FakeEngine("Overall: B")
        second = judge(again, pairs, store=store)
        assert len(again.calls) == 1  # only the failed request is redone
        assert [j.outcomes for j in second[::2]] == [j.outcomes for j in first[::2]]
        assert len(store.items("winrate")) == 3


@pytest.mark.slow
def test_winrate_with_the_embedded_model(data_dir, tmp_path, embedded_gguf):
    """A real judge (SmolLM2 through llama.cpp): whatever it writes is parsed strictly and every
    paper ends up either judged or reported as unparsed."""
    pytest.importorskip("llama_cpp")
    from cycleresearcher.engines import SamplingParams, create_engine

    a = load_review_texts(data_dir / "evaluation/winrate/a")
    b = load_review_texts(data_dir / "evaluation/winrate/b")
    pairs = plan_pairs(a, b, 0)[:1]  # one short prompt: the machine is small
    engine = create_engine(embedded_gguf, "llamacpp", notice=False, n_ctx=2048)
    try:
        judgements = judge(engine, pairs, sampling=SamplingParams(temperature=0.0, max_tokens=24, seed=0))
    finally:
        engine.close()
    assert all(j.error is None and j.output for j in judgements)
    for j in judgements:  # the verdicts are the strict parse of what it wrote, mapped by position
        assert j.verdicts == parse_verdicts(j.output, ASPECTS)
        assert j.outcomes == to_outcomes(j.verdicts, j.first)
    for row in aggregate(judgements, ASPECTS):
        got = [j.outcomes[row.aspect] for j in judgements]
        assert (row.a_wins, row.b_wins, row.ties, row.unparsed) == tuple(
            got.count(o) for o in ("a", "b", "tie", "unparsed")
        )
