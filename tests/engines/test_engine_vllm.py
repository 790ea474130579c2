"""The vLLM engine's mapping and batching. vLLM needs a GPU, so ``vllm`` itself is replaced by a
small stand-in module at the import boundary only; the tokenizer is the real embedded one."""

from __future__ import annotations

import json
import sys
import types
from types import SimpleNamespace
from typing import Any

import pytest

from cycleresearcher.engines import ChatRequest, SamplingParams
from cycleresearcher.engines.hf import chat_token_ids
from cycleresearcher.errors import MissingDependencyError


class FakeVLLM:
    """Just enough of the ``vllm`` API: ``SamplingParams`` records its kwargs, ``LLM.chat`` echoes."""

    def __init__(self, tokenizer: Any, max_model_len: int = 8192):
        self.module = types.ModuleType("vllm")
        self.llms: list[Any] = []
        outer = self

        class SamplingParams_:
            def __init__(self, **kw: Any):
                self.kw = kw

        class LLM:
            def __init__(self, model: str, **kw: Any):
                self.model, self.kw, self.calls = model, kw, []
                self.llm_engine = SimpleNamespace(
                    model_config=SimpleNamespace(max_model_len=kw.get("max_model_len", max_model_len))
                )
                outer.llms.append(self)

            def get_tokenizer(self) -> Any:
                return tokenizer

            def chat(
                self,
                messages,
                sampling_params,
                use_tqdm=True,
                add_generation_prompt=True,
                continue_final_message=False,
            ):  # type: ignore[no-untyped-def]
                self.calls.append(
                    {
                        "messages": messages,
                        "params": sampling_params,
                        "add_generation_prompt": add_generation_prompt,
                        "continue_final_message": continue_final_message,
                    }
                )
                if any("EXPLODE" in m["content"] for conv in messages for m in conv):
                    raise ValueError("engine step failed")
                outs = []
                for conv, sp in zip(messages, sampling_params, strict=True):
                    ids = chat_token_ids(tokenizer, conv)
                    outs.append(
                        SimpleNamespace(
                            prompt_token_ids=ids,
                            outputs=[
                                SimpleNamespace(
                                    index=k,
                                    text=f"{conv[-1]['content']}#{k}",
                                    token_ids=[7] * (k + 2),
                                    finish_reason="length" if k else "stop",
                                )
                                for k in reversed(range(sp.kw["n"]))
                            ],
                        )
                    )
                return outs

        self.module.SamplingParams = SamplingParams_
        self.module.LLM = LLM


@pytest.fixture(scope="module")
def tokenizer(embedded_hf_dir: str) -> Any:
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(embedded_hf_dir)


@pytest.fixture
def fake_vllm(monkeypatch, tokenizer) -> FakeVLLM:
    fake = FakeVLLM(tokenizer)
    monkeypatch.setitem(sys.modules, "vllm", fake.module)
    return fake


def user(text: str) -> list[dict[str, str]]:
    return [{"role": "system", "content": "Be brief."}, {"role": "user", "content": text}]


def test_sampling_mapping(fake_vllm):
    from cycleresearcher.engines.vllm import to_vllm_sampling

    sp = SamplingParams(
        temperature=0.4,
        top_p=0.95,
        max_tokens=19000,
        stop=["\\clearpage", "\\clear", "clearpage"],
        n=3,
        seed=5,
        ignore_eos=True,
    )
    assert to_vllm_sampling(fake_vllm.module, sp).kw == {
        "n": 3,
        "temperature": 0.4,
        "top_p": 0.95,
        "max_tokens": 19000,
        "stop": ["\\clearpage", "\\clear", "clearpage"],
        "seed": 5,
        "ignore_eos": True,
        "skip_special_tokens": True,
    }
    kw = to_vllm_sampling(fake_vllm.module, SamplingParams(), max_tokens=10).kw
    assert kw["stop"] is None and kw["seed"] is None and kw["ignore_eos"] is False and kw["max_tokens"] == 10


def test_constructor_settings_and_describe(fake_vllm):
    from cycleresearcher.engines.vllm import VLLMEngine

    eng = VLLMEngine(
        "org/model", tensor_parallel_size=4, gpu_memory_utilization=0.8, max_model_len=60000, dtype="bfloat16"
    )
    llm = fake_vllm.llms[-1]
    assert llm.model == "org/model"
    assert llm.kw["tensor_parallel_size"] == 4 and llm.kw["gpu_memory_utilization"] == 0.8
    assert llm.kw["max_model_len"] == 60000 and llm.kw["dtype"] == "bfloat16"
    assert eng.context_length == 60000
    desc = eng.describe()
    assert (
        json.loads(json.dumps(desc)) == desc
        and desc["engine"] == "vllm"
        and desc["tensor_parallel_size"] == 4
    )
    VLLMEngine("org/model")
    assert "max_model_len" not in fake_vllm.llms[-1].kw  # vLLM picks the model's own


def test_one_chat_call_order_n_and_tokens(fake_vllm, tokenizer):
    from cycleresearcher.engines.vllm import VLLMEngine

    eng = VLLMEngine("m")
    reqs = [
        ChatRequest(user(w), SamplingParams(n=n, max_tokens=50), request_id=w)
        for w, n in (("a", 1), ("b", 3), ("c", 2))
    ]
    seen = []
    results = eng.generate(reqs, lambda i, r: seen.append(i))
    llm = fake_vllm.llms[-1]
    assert len(llm.calls) == 1 and llm.calls[0]["add_generation_prompt"] is True
    assert [p.kw["n"] for p in llm.calls[0]["params"]] == [1, 3, 2]
    assert [r.request_id for r in results] == ["a", "b", "c"] and sorted(seen) == [0, 1, 2]
    assert [c.text for c in results[1].completions] == ["b#0", "b#1", "b#2"]  # sorted by output index
    assert [c.finish_reason for c in results[1].completions] == ["stop", "length", "length"]
    assert results[1].completion_tokens == 2 + 3 + 4
    assert (
        results[0].prompt_tokens == eng.count_tokens(user("a")) == len(chat_token_ids(tokenizer, user("a")))
    )


def test_overlong_prompt_fails_before_the_call_and_max_tokens_is_capped(fake_vllm, tokenizer):
    from cycleresearcher.engines.vllm import VLLMEngine

    eng = VLLMEngine("m", max_model_len=64)
    reqs = [
        ChatRequest(user("ok"), SamplingParams(max_tokens=500)),
        ChatRequest(user("long " * 200), SamplingParams()),
    ]
    ok, bad = eng.generate(reqs)
    assert ok.ok and not bad.ok and "max_model_len is 64" in bad.error
    params = fake_vllm.llms[-1].calls[0]["params"]
    assert len(params) == 1 and params[0].kw["max_tokens"] == 64 - eng.count_tokens(user("ok"))


def test_a_failing_batch_is_retried_one_by_one(fake_vllm):
    from cycleresearcher.engines.vllm import VLLMEngine

    eng = VLLMEngine("m")
    results = eng.generate([ChatRequest(user(w)) for w in ("a", "EXPLODE", "c")])
    assert [r.ok for r in results] == [True, False, True]
    assert "engine step failed" in results[1].error and results[2].text == "c#0"
    assert len(fake_vllm.llms[-1].calls) == 4  # the batch, then each request alone


def test_continuation_and_chunks(fake_vllm):
    from cycleresearcher.engines.vllm import VLLMEngine

    eng = VLLMEngine("m", chunk_size=2)
    cont = [*user("write"), {"role": "assistant", "content": "\\title{"}]
    reqs = [ChatRequest(user("a")), ChatRequest(cont), ChatRequest(user("b")), ChatRequest(user("c"))]
    order = []
    results = eng.generate(reqs, lambda i, r: order.append(i))
    calls = fake_vllm.llms[-1].calls
    assert [len(c["messages"]) for c in calls] == [2, 1, 1]
    assert [c["continue_final_message"] for c in calls] == [False, False, True]
    assert calls[2]["add_generation_prompt"] is False
    assert order == [0, 2, 3, 1] and results[1].text == "\\title{#0"


def test_missing_vllm_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "vllm", None)
    from cycleresearcher.engines.vllm import VLLMEngine

    with pytest.raises(MissingDependencyError, match=r"cycleresearcher\[gpu\]"):
        VLLMEngine("m")
