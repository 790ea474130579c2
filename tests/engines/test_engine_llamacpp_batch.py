"""Several sequences per llama.cpp decode step (engines.llamacpp_batch) with the real embedded
SmolLM2 GGUF: the same tokens as one at a time, per-sequence samplers, grammars and stop strings,
a shared prompt prefix, and the cap on sequences and KV cells. Few tokens per test."""

from __future__ import annotations

import re

import pytest

from cycleresearcher.engines import ChatRequest, SamplingParams

pytest.importorskip("llama_cpp")

pytestmark = pytest.mark.slow


def user(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


COUNT = user("Count from 1 to 10, separated by commas.")
PROMPTS = [COUNT, user("Name a colour."), user("What is the capital of France?")]


@pytest.fixture(scope="module")
def engine(embedded_gguf):
    from cycleresearcher.engines.llamacpp import LlamaCppEngine

    eng = LlamaCppEngine(embedded_gguf, n_ctx=256, max_sequences=4)
    yield eng
    eng.close()


def together(engine) -> int:
    """The most sequences one decode step held (steps with prompt tokens left out)."""
    return max((n for n, prompt, _ in engine.steps if prompt == 0), default=0)


def test_greedy_tokens_are_the_same_batched_as_one_at_a_time(engine):
    reqs = [ChatRequest(p, SamplingParams(temperature=0, max_tokens=12)) for p in PROMPTS]
    alone = [engine.generate([r])[0] for r in reqs]  # a lone sequence goes through Llama.generate
    assert engine.steps == []
    both = engine.generate(reqs)
    assert together(engine) == 3
    assert [r.text for r in both] == [r.text for r in alone]
    assert [r.completion_tokens for r in both] == [r.completion_tokens for r in alone]
    assert all(r.text for r in both)


def test_seeded_samples_reproduce_and_differ(engine):
    req = ChatRequest(COUNT, SamplingParams(temperature=1.0, top_p=0.95, max_tokens=8, n=3, seed=7))
    # from the same cache state the same floats come out; another cached prefix may round the
    # logits differently (the cells sit elsewhere), which is enough to move a sampled token
    engine.llm.reset()
    [first] = engine.generate([req])
    assert together(engine) == 3
    engine.llm.reset()
    [again] = engine.generate([req])
    texts = [c.text for c in first.completions]
    assert [c.text for c in again.completions] == texts and len(set(texts)) > 1
    other = engine.generate([ChatRequest(COUNT, SamplingParams(temperature=1.0, max_tokens=8, n=3, seed=8))])
    assert [c.text for c in other[0].completions] != texts


def test_n_samples_share_one_prefill(engine):
    engine.generate([ChatRequest(user("Say hi."), SamplingParams(max_tokens=1))])  # something else cached
    req = ChatRequest(PROMPTS[2], SamplingParams(temperature=0.8, max_tokens=6, n=4, seed=1))
    [res] = engine.generate([req])
    n_prompt = res.prompt_tokens
    assert res.ok and len(res.completions) == 4
    evaluated = [s.prompt_eval_tokens for s in engine.stats]
    assert evaluated[1:] == [1, 1, 1] and evaluated[0] > 3  # samples 2..4 copy the first's cells
    # the prompt went through llama_decode once (plus each copy's last token), not four times
    assert sum(prompt for _, prompt, _ in engine.steps) == evaluated[0] + 3 < 2 * n_prompt


def test_each_sequence_follows_its_own_grammar(engine):
    yes_no = 'root ::= ("yes" | "no") "."'
    apples = 'root ::= [1-9] [0-9]? " apples"'
    reqs = [
        ChatRequest(
            user("Is the sky blue?"), SamplingParams(temperature=0.8, max_tokens=10, seed=2, grammar=yes_no)
        ),
        ChatRequest(
            user("How many apples?"), SamplingParams(temperature=0.8, max_tokens=10, seed=2, grammar=apples)
        ),
        ChatRequest(
            user("Is grass green?"), SamplingParams(temperature=0.8, max_tokens=10, seed=3, grammar=yes_no)
        ),
        ChatRequest(COUNT, SamplingParams(temperature=0, max_tokens=10)),
    ]
    a, b, c, free = engine.generate(reqs)
    assert together(engine) >= 3
    assert re.fullmatch(r"(yes|no)\.", a.text) and re.fullmatch(r"(yes|no)\.", c.text)
    assert re.fullmatch(r"[1-9][0-9]? apples", b.text)
    assert {r.completions[0].finish_reason for r in (a, b, c)} == {"stop"}  # the grammar ended them
    assert free.text.startswith("1, 2")  # the unconstrained neighbour is not held by a grammar


def test_stop_strings_and_budgets_per_sequence(engine):
    def sp(**kw):
        return SamplingParams(temperature=0, max_tokens=20, **kw)

    reqs = [
        ChatRequest(COUNT, sp()),
        ChatRequest(COUNT, sp(stop=["3"])),
        ChatRequest(COUNT, sp(stop=["6", "nothing"])),
        ChatRequest(COUNT, SamplingParams(temperature=0, max_tokens=2)),
    ]
    seen = []
    plain, at3, at6, short = engine.generate(reqs, on_result=lambda i, r: seen.append(i))
    assert "5, 6" in plain.text
    assert at3.text == plain.text[: plain.text.index("3")] and at6.text == plain.text[: plain.text.index("6")]
    assert [r.completions[0].finish_reason for r in (at3, at6, short)] == ["stop", "stop", "length"]
    assert short.completion_tokens == 2 and seen[0] == 3 and sorted(seen) == [0, 1, 2, 3]


def test_sequences_wait_for_kv_room_and_the_cap(engine, embedded_gguf):
    # a long prompt and a short one, 40 new tokens each, do not fit in the context together (even
    # with the system prompt they share): they run one after the other
    k = 20
    while engine.count_tokens(user("lorem ipsum " * k)) < engine.context_length // 2 + 40:
        k += 5
    sp = SamplingParams(temperature=0, max_tokens=40, ignore_eos=True)
    first, second = engine.generate([ChatRequest(user("lorem ipsum " * k), sp), ChatRequest(COUNT, sp)])
    assert first.completion_tokens == second.completion_tokens == 40
    assert together(engine) == 1

    from cycleresearcher.engines.llamacpp import LlamaCppEngine

    two = LlamaCppEngine(embedded_gguf, n_ctx=512, max_sequences=2)
    try:
        out = two.generate([ChatRequest(p, SamplingParams(temperature=0, max_tokens=4)) for p in PROMPTS * 2])
        assert all(r.ok and r.completion_tokens for r in out)
        assert together(two) == 2 and max(n for n, prompt, _ in two.steps if prompt == 0) <= 2
        assert two.describe()["max_sequences"] == 2
    finally:
        two.close()
