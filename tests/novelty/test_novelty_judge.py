"""The optional judge with the scripted engine: what it is shown, the decision rule, and that its
answer sits beside the retrieval verdict without changing it."""

from __future__ import annotations

import pytest
from novelty_corpus import CLOSE_IDEA, FAR_IDEA, WORKS, corpus_bib, no_user_cache  # noqa: F401  (fixtures)

from cycleresearcher.novelty import CheckSettings, NoveltyChecker, Subject
from cycleresearcher.novelty.judge import JUDGE_SYSTEM, judge_prompt, parse_answer
from cycleresearcher.novelty.records import Match, Work
from support.fake_engine import FakeEngine

MATCHES = [Match(Work(t, a, y), 0.5, i) for i, (t, y, a) in enumerate(WORKS.values(), 1)]


def test_the_prompt_shows_the_idea_and_every_retrieved_abstract():
    prompt = judge_prompt(Subject("s", idea=FAR_IDEA, title="Dating charters"), MATCHES[:3])
    assert FAR_IDEA in prompt and "Dating charters" in prompt
    for m in MATCHES[:3]:
        assert f"{m.work.title} ({m.work.year})\n{m.work.abstract}" in prompt
    assert '"decision": "overlaps" or "distinct"' in prompt


@pytest.mark.parametrize(
    "text, decision, closest",
    [
        (
            '{"reason": "Work 1 does this.", "decision": "overlaps", "closest": 1}',
            "overlaps",
            WORKS["kvcache"][0],
        ),
        (
            'Sure! ```json\n{"reason": "None does.", "decision": "Distinct", "closest": null}\n```',
            "distinct",
            "",
        ),
        ('{"reason": "unclear", "decision": "novel"}', "undecided", ""),
        ("I think it is novel.", "undecided", ""),
        ('{"reason": "x", "decision": "overlaps", "closest": 99}', "overlaps", ""),
    ],
)
def test_decision_rule(text, decision, closest):
    answer = parse_answer(text, MATCHES)
    assert (answer.decision, answer.closest) == (decision, closest)
    assert answer.raw == text


def test_judge_answer_is_shown_beside_the_verdict_never_instead(corpus_bib):
    engine = FakeEngine(
        '{"reason": "The first work already quantises the cache.", "decision": "distinct", "closest": 1}'
    )
    checker = NoveltyChecker(CheckSettings(embeddings=False, corpus=[corpus_bib], judge=engine))
    report = checker.check(Subject("idea", idea=CLOSE_IDEA))
    assert report.close and report.verdict.startswith("close prior work")  # the judge does not overrule it
    assert report.judge is not None and report.judge.decision == "distinct"
    [request] = engine.calls
    assert request.messages[0] == {"role": "system", "content": JUDGE_SYSTEM}
    assert request.sampling.temperature == 0.0
    assert WORKS["kvcache"][2] in request.messages[1]["content"]
    assert report.to_dict()["judge"]["reason"] == "The first work already quantises the cache."


def test_a_failing_judge_is_undecided(corpus_bib):
    engine = FakeEngine("x", fail_on=[0])
    report = NoveltyChecker(CheckSettings(embeddings=False, corpus=[corpus_bib], judge=engine)).check(
        Subject("idea", idea=FAR_IDEA)
    )
    assert report.judge is not None and report.judge.decision == "undecided"
    assert "scripted failure" in report.judge.reason and not report.close


def test_the_cli_judge_options_reach_the_engine(corpus_bib):
    import json

    from typer.testing import CliRunner

    from cycleresearcher.cli import app

    answer = '{"reason": "Work 1 does the same.", "decision": "overlaps", "closest": 1}'
    result = CliRunner().invoke(app, [
        "research", "novelty", "--idea", CLOSE_IDEA, "--corpus", str(corpus_bib), "--lexical", "--json",
        "--judge-model", "scripted", "--judge-engine", "support.fake_engine:FakeEngine", "--judge-opt", f"script={answer}",
    ])  # fmt: skip
    assert result.exit_code == 0, result.output
    [report] = json.loads(result.stdout)
    assert report["judge"]["decision"] == "overlaps" and report["judge"]["closest"] == WORKS["kvcache"][0]
    assert report["close_prior_work"] is True
