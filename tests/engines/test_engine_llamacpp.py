"""The llama.cpp engine with the real embedded SmolLM2 GGUF (few tokens per test)."""

from __future__ import annotations

import json

import pytest

from cycleresearcher.engines import ChatRequest, SamplingParams
from cycleresearcher.errors import InputError, ModelNotFoundError

pytest.importorskip("llama_cpp")

COUNT = [{"role": "user", "content": "Count from 1 to 10, separated by commas."}]
CHAT = [
    {"role": "system", "content": "You are a helpful assistant."},
    {"role": "user", "content": "Name a colour."},
    {"role": "assistant", "content": "Blue."},
    {"role": "user", "content": "Name another colour."},
]


@pytest.fixture(scope="module")
def engine(embedded_gguf):
    from cycleresearcher.engines.llamacpp import LlamaCppEngine

    eng = LlamaCppEngine(embedded_gguf, n_ctx=256)
    yield eng
    eng.close()


def test_rejects_non_gguf_and_missing_files(tmp_path):
    from cycleresearcher.engines.llamacpp import LlamaCppEngine

    with pytest.raises(InputError, match="--engine hf"):
        LlamaCppEngine("WestlakeNLP/CycleResearcher-ML-12B")
    with pytest.raises(ModelNotFoundError):
        LlamaCppEngine(str(tmp_path / "absent.gguf"))


@pytest.mark.slow
def test_default_context_is_the_trained_one_capped(embedded_gguf):
    from cycleresearcher.engines.llamacpp import LlamaCppEngine

    eng = LlamaCppEngine(embedded_gguf, max_ctx=1536)
    try:
        assert eng.trained_context == 8192 and eng.context_length == 1536
    finally:
        eng.close()


@pytest.mark.slow
def test_chat_template_from_the_gguf_and_token_count(engine):
    ids = engine.prompt_tokens(CHAT)
    text = engine.llm.detokenize(ids, special=True).decode()
    # SmolLM2 is ChatML: every turn is kept, and the prompt opens the assistant's answer
    assert text.count("<|im_start|>") == 5 and text.endswith("<|im_start|>assistant\n")
    assert "Name a colour.<|im_end|>" in text and "Blue.<|im_end|>" in text
    assert engine.count_tokens(CHAT) == len(ids) > engine.count_tokens(CHAT[-1:])
    assert ids.count(engine.llm.tokenize(b"<|im_start|>", add_bos=False, special=True)[0]) == 5
    desc = engine.describe()
    assert json.loads(json.dumps(desc)) == desc and desc["n_ctx"] == 256 and desc["chat_template"] == "gguf"


@pytest.mark.slow
def test_greedy_stop_strings_and_order(engine):
    reqs = [
        ChatRequest(COUNT, SamplingParams(temperature=0, max_tokens=24), request_id="plain"),
        ChatRequest(
            COUNT, SamplingParams(temperature=0, max_tokens=24, stop=["5", "nothing"]), request_id="stop"
        ),
        ChatRequest(CHAT, SamplingParams(temperature=0, max_tokens=1), request_id="short"),
    ]
    seen = []
    plain, stopped, short = engine.generate(reqs, lambda i, r: seen.append((i, r.request_id)))
    # decoded together (the default) each result goes out as it ends: the 1-token one first; the
    # returned list keeps the request order either way
    assert sorted(seen) == [(0, "plain"), (1, "stop"), (2, "short")] and seen[0] == (2, "short")
    assert all(r.ok for r in (plain, stopped, short))
    assert "4, 5" in plain.text  # greedy is deterministic, so the stopped run shares the same prefix
    assert stopped.text == plain.text[: plain.text.index("5")]
    assert stopped.completions[0].finish_reason == "stop"
    assert short.completions[0].finish_reason == "length" and short.completions[0].completion_tokens == 1
    assert short.prompt_tokens == engine.count_tokens(CHAT)


@pytest.mark.slow
def test_n_samples_share_the_prefill_and_seeds_reproduce(engine):
    req = ChatRequest(CHAT, SamplingParams(temperature=1.0, top_p=0.95, max_tokens=6, n=3, seed=11))
    engine.generate([ChatRequest(COUNT, SamplingParams(max_tokens=1))])  # something else in the cache
    [first] = engine.generate([req])
    stats = engine.stats
    assert [s.prompt_eval_tokens for s in stats[1:]] == [1, 1]  # samples 2..n only decode
    assert stats[0].prompt_eval_tokens > 20
    assert len(first.completions) == 3 and len({c.text for c in first.completions}) > 1
    [again] = engine.generate([req])
    assert [c.text for c in again.completions] == [c.text for c in first.completions]
    assert engine.stats[0].prompt_eval_tokens == 1  # the same prompt again: nothing to prefill


@pytest.mark.slow
def test_ignore_eos_runs_to_max_tokens(engine):
    yes = [{"role": "user", "content": "Answer with the single word yes."}]
    [normal, forced] = engine.generate(
        [
            ChatRequest(yes, SamplingParams(temperature=0, max_tokens=30)),
            ChatRequest(yes, SamplingParams(temperature=0, max_tokens=30, ignore_eos=True)),
        ]
    )
    assert normal.completions[0].finish_reason == "stop" and normal.completions[0].completion_tokens < 30
    assert forced.completions[0].finish_reason == "length" and forced.completions[0].completion_tokens == 30
    assert forced.text.startswith(normal.text) and len(forced.text) > len(normal.text)
    assert "<|im_end|>" not in forced.text  # end-of-turn tokens are skipped, as vLLM does


@pytest.mark.slow
def test_prompt_over_the_context_fails_alone_and_room_caps_max_tokens(engine):
    long = [{"role": "user", "content": "lorem ipsum " * 200}]
    k = 60
    while engine.count_tokens([{"role": "user", "content": "lorem ipsum " * k}]) > 245:
        k -= 1
    near = [{"role": "user", "content": "lorem ipsum " * k}]
    n_near = engine.count_tokens(near)
    ok1, bad, ok2 = engine.generate(
        [
            ChatRequest(COUNT, SamplingParams(max_tokens=2)),
            ChatRequest(long, SamplingParams(max_tokens=2)),
            ChatRequest(near, SamplingParams(max_tokens=400, ignore_eos=True)),
        ]
    )
    assert ok1.ok and ok2.ok
    assert not bad.ok and "ContextLengthError" in bad.error and "n_ctx" in bad.error
    assert ok2.completions[0].completion_tokens == 256 - n_near < 20
    assert ok2.completions[0].finish_reason == "length"


def test_reports_every_new_token_of_every_sample(engine):
    events = []
    sp = SamplingParams(max_tokens=6, n=2, seed=3, temperature=0.8, ignore_eos=True)
    [res] = engine.generate([ChatRequest(COUNT, sp, request_id="count")], on_progress=events.append)
    assert res.ok and res.completion_tokens == 12  # ignore_eos: both samples run to max_tokens
    # one event per token, counting across the request's samples, against its whole budget
    assert [e.tokens for e in events] == list(range(1, 13))
    assert {(e.index, e.request_id, e.max_tokens, e.done) for e in events} == {(0, "count", 12, False)}
    assert all(a.elapsed_s <= b.elapsed_s for a, b in zip(events, events[1:], strict=False))
