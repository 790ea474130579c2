"""The transformers engine: batching plan and stop handling (pure), then the real embedded SmolLM2
converted to a transformers directory (few tokens per test)."""

from __future__ import annotations

import json

import pytest

from cycleresearcher.engines import ChatRequest, SamplingParams
from cycleresearcher.engines.hf import chat_prompt, cut_at_stop, plan_batches

COUNT = [{"role": "user", "content": "Count from 1 to 10, separated by commas."}]
CHAT = [
    {"role": "system", "content": "You are a helpful assistant."},
    {"role": "user", "content": "Name a colour."},
    {"role": "assistant", "content": "Blue."},
    {"role": "user", "content": "Name another colour."},
]


def test_cut_at_stop_takes_the_earliest_and_excludes_it():
    assert cut_at_stop("abc \\clearpage xyz clearpage", ["clearpage", "\\clearpage"]) == ("abc ", True)
    assert cut_at_stop("no stop here", ["\\clear"]) == ("no stop here", False)
    assert cut_at_stop("x", []) == ("x", False)
    assert cut_at_stop("x", [""]) == ("x", False)


def test_plan_batches_groups_sorts_and_isolates_seeded():
    greedy = SamplingParams(temperature=0, max_tokens=8)
    hot = SamplingParams(temperature=0.9, max_tokens=8)
    reqs = [
        ChatRequest(COUNT, greedy),
        ChatRequest(COUNT, hot),
        ChatRequest(COUNT, greedy),
        ChatRequest(COUNT, SamplingParams(temperature=0, max_tokens=8, seed=3)),
        ChatRequest(COUNT, greedy),
        ChatRequest(COUNT, hot),
    ]
    lengths = {0: 10, 1: 50, 2: 30, 3: 99, 4: 20, 5: 5}
    plan = plan_batches(reqs, lengths, batch_size=2)
    assert sorted(i for b in plan for i in b) == list(range(6))
    assert [3] in plan
    assert [2, 4] in plan and [0] in plan and [1, 5] in plan  # longest first within a group
    assert plan.index([2, 4]) < plan.index([0])
    assert plan_batches(reqs, {0: 1, 2: 2}, batch_size=8) == [[2, 0]]  # only the prompts given


@pytest.fixture(scope="module")
def tokenizer(embedded_hf_dir):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(embedded_hf_dir)


def test_chat_prompt_multiturn_and_continuation(tokenizer):
    text = chat_prompt(tokenizer, CHAT)
    assert text.count("<|im_start|>") == 5 and text.endswith("<|im_start|>assistant\n")
    cont = chat_prompt(tokenizer, [*COUNT, {"role": "assistant", "content": "1, 2,"}])
    assert cont.endswith("<|im_start|>assistant\n1, 2,")  # continued, not closed


@pytest.fixture(scope="module")
def engine(embedded_hf_dir):
    from cycleresearcher.engines.hf import HFEngine

    eng = HFEngine(embedded_hf_dir, device="cpu", batch_size=4)
    yield eng
    eng.close()


@pytest.mark.slow
def test_describe_and_count(engine, tokenizer):
    desc = engine.describe()
    assert json.loads(json.dumps(desc)) == desc
    assert desc["device"] == "cpu" and desc["dtype"] == "float32" and desc["context_length"] == 8192
    ids = tokenizer(chat_prompt(tokenizer, CHAT), add_special_tokens=False)["input_ids"]
    assert engine.count_tokens(CHAT) == len(ids) > engine.count_tokens(CHAT[-1:])


@pytest.mark.slow
def test_left_padded_batch_matches_one_by_one_and_keeps_order(engine):
    reqs = [
        ChatRequest(COUNT, SamplingParams(temperature=0, max_tokens=6), request_id="count"),
        ChatRequest(CHAT, SamplingParams(temperature=0, max_tokens=6), request_id="chat"),
        ChatRequest(
            [{"role": "user", "content": "Hi"}], SamplingParams(temperature=0, max_tokens=6), request_id="hi"
        ),
    ]
    seen = []
    batched = engine.generate(reqs, lambda i, r: seen.append(i))
    assert [r.request_id for r in batched] == ["count", "chat", "hi"] and sorted(seen) == [0, 1, 2]
    engine.batch_size = 1
    try:
        alone = engine.generate(reqs)
    finally:
        engine.batch_size = 4
    assert [r.text for r in batched] == [r.text for r in alone]
    assert all(
        r.ok and r.prompt_tokens == engine.count_tokens(q.messages)
        for r, q in zip(batched, reqs, strict=True)
    )


@pytest.mark.slow
def test_stop_strings_n_samples_and_seed(engine):
    [plain, stopped] = engine.generate(
        [
            ChatRequest(COUNT, SamplingParams(temperature=0, max_tokens=14)),
            ChatRequest(COUNT, SamplingParams(temperature=0, max_tokens=14, stop=["4"])),
        ]
    )
    assert "3, 4" in plain.text
    assert (
        stopped.text == plain.text[: plain.text.index("4")] and stopped.completions[0].finish_reason == "stop"
    )
    sampled = ChatRequest(CHAT, SamplingParams(temperature=1.0, max_tokens=5, n=3, seed=7))
    [a] = engine.generate([sampled])
    [b] = engine.generate([sampled])
    assert len(a.completions) == 3 and len({c.text for c in a.completions}) > 1
    assert [c.text for c in a.completions] == [c.text for c in b.completions]
    assert all(0 < c.completion_tokens <= 5 for c in a.completions)


@pytest.mark.slow
def test_ignore_eos_and_context_overflow(engine):
    yes = [{"role": "user", "content": "Answer with the single word yes."}]
    too_long = [{"role": "user", "content": "word " * 9000}]
    normal, forced, bad = engine.generate(
        [
            ChatRequest(yes, SamplingParams(temperature=0, max_tokens=16)),
            ChatRequest(yes, SamplingParams(temperature=0, max_tokens=16, ignore_eos=True)),
            ChatRequest(too_long, SamplingParams(max_tokens=2)),
        ]
    )
    assert normal.completions[0].finish_reason == "stop" and normal.completions[0].completion_tokens < 16
    assert forced.completions[0].finish_reason == "length" and forced.completions[0].completion_tokens == 16
    assert forced.text.startswith(normal.text) and len(forced.text) > len(normal.text)
    assert not bad.ok and "ContextLengthError" in bad.error


@pytest.mark.slow
def test_a_batch_reports_each_requests_tokens_step_by_step(engine):
    reqs = [
        ChatRequest(COUNT, SamplingParams(temperature=0, max_tokens=6, ignore_eos=True), request_id="a"),
        ChatRequest(CHAT, SamplingParams(temperature=0, max_tokens=6, ignore_eos=True), request_id="b"),
    ]
    events = []
    results = engine.generate(reqs, on_progress=events.append)
    assert all(r.ok and r.completion_tokens == 6 for r in results)
    for index, rid in enumerate(["a", "b"]):
        mine = [e for e in events if e.index == index]
        # one event per decoding step, after the prompt, counted against the request's budget
        assert [e.tokens for e in mine] == [1, 2, 3, 4, 5, 6]
        assert {(e.request_id, e.max_tokens) for e in mine} == {(rid, 6)}


def test_a_grammar_gives_a_parseable_paper(engine):
    """llguidance masks each step to the grammar: the embedded model's HF weights write a paper
    whose every part parses (the bounded profile ends it on its own)."""
    pytest.importorskip("llguidance", reason="llguidance (the hf extra) is not installed")
    from cycleresearcher.paper import parse_paper
    from cycleresearcher.prompts import grammars as S

    node = S.structure("researcher", "bounded", S.TINY)
    sp = SamplingParams(max_tokens=700, seed=2, temperature=0.4, top_p=0.95, grammar=S.to_gbnf(node))
    [res] = engine.generate([ChatRequest([{"role": "user", "content": "Write a paper on graphs."}], sp)])
    assert res.ok and res.completions[0].finish_reason == "stop", res.error
    assert S.matches(node, res.text), res.text
    paper = parse_paper(res.text)
    assert paper.warnings == [] and paper.title and paper.abstract, (paper.warnings, res.text[:400])
