"""vLLM offline engine (``vllm.LLM``), the fast path on GPUs.

All conversations go to ``LLM.chat`` in one call (vLLM schedules them itself and shares the
prefill of the ``n`` samples of a request). Prompts that cannot fit the context are failed before
the call, because vLLM rejects the whole batch for one overlong prompt; if the call still fails,
the requests are retried one by one so that only the bad one is lost. ``chunk_size`` splits large
batches so that results reach ``on_result`` (and the run store) chunk by chunk.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from ..errors import ContextLengthError, require
from .base import Batch, ChatRequest, Completion, Engine, GenerationResult, Message, SamplingParams
from .hf import chat_token_ids


def structured_kwargs(vllm: Any, grammar: str | None) -> dict[str, Any]:
    """The ``SamplingParams`` keyword carrying a GBNF grammar for this vLLM version:
    ``structured_outputs=StructuredOutputsParams(grammar=...)`` (vLLM >= 0.10), else the older
    ``guided_decoding=GuidedDecodingParams(grammar=...)``."""
    if not grammar:
        return {}
    sp_mod = getattr(vllm, "sampling_params", None)
    new = getattr(sp_mod, "StructuredOutputsParams", None) or getattr(vllm, "StructuredOutputsParams", None)
    if new is not None:
        return {"structured_outputs": new(grammar=grammar)}
    old = getattr(sp_mod, "GuidedDecodingParams", None) or getattr(vllm, "GuidedDecodingParams", None)
    if old is not None:
        return {"guided_decoding": old(grammar=grammar)}
    from ..errors import EngineError

    raise EngineError(
        "This vLLM has neither StructuredOutputsParams nor GuidedDecodingParams: upgrade vLLM, or pass --no-constrain."
    )


def to_vllm_sampling(vllm: Any, sampling: SamplingParams, max_tokens: int | None = None) -> Any:
    """Our ``SamplingParams`` as ``vllm.SamplingParams`` (``max_tokens`` caps to the room left)."""
    extra = structured_kwargs(vllm, sampling.grammar)
    if sampling.repeat_penalty != 1.0:
        extra["repetition_penalty"] = sampling.repeat_penalty
    return vllm.SamplingParams(
        **extra,
        n=sampling.n,
        temperature=sampling.temperature,
        top_p=sampling.top_p,
        max_tokens=max_tokens if max_tokens is not None else sampling.max_tokens,
        stop=list(sampling.stop) or None,
        seed=sampling.seed,
        ignore_eos=sampling.ignore_eos,
        skip_special_tokens=True,
    )


def from_vllm_output(output: Any) -> GenerationResult:
    """A ``vllm.RequestOutput`` as our ``GenerationResult``."""
    comps = [
        Completion(text=o.text, finish_reason=o.finish_reason, completion_tokens=len(o.token_ids or []))
        for o in sorted(output.outputs, key=lambda o: getattr(o, "index", 0))
    ]
    prompt_ids = getattr(output, "prompt_token_ids", None)
    return GenerationResult(
        completions=comps, prompt_tokens=len(prompt_ids) if prompt_ids is not None else None
    )


class VLLMEngine(Engine):
    """``VLLMEngine(model, tensor_parallel_size=1, gpu_memory_utilization=0.9, max_model_len=None, dtype="auto")``."""

    name = "vllm"
    samples_at_once = True  # n samples share one prefill and come back together

    def __init__(
        self,
        model: str | None = None,
        *,
        tensor_parallel_size: int = 1,
        gpu_memory_utilization: float = 0.9,
        max_model_len: int | None = None,
        dtype: str = "auto",
        chunk_size: int | None = None,
        trust_remote_code: bool = False,
        enforce_eager: bool = False,
        **_ignored: Any,
    ):
        from ..models import embedded_model_path

        self._vllm = require("vllm", "gpu", "the vLLM engine")
        self.model_id = model or str(embedded_model_path())
        self.settings = {
            "tensor_parallel_size": tensor_parallel_size,
            "gpu_memory_utilization": gpu_memory_utilization,
            "max_model_len": max_model_len,
            "dtype": dtype,
        }
        kwargs: dict[str, Any] = dict(
            self.settings, trust_remote_code=trust_remote_code, enforce_eager=enforce_eager
        )
        if max_model_len is None:
            kwargs.pop("max_model_len")
        self.llm = self._vllm.LLM(model=self.model_id, **kwargs)
        self.chunk_size = chunk_size
        self.tokenizer = self.llm.get_tokenizer()
        self.context_length = self._max_model_len() or max_model_len

    def _max_model_len(self) -> int | None:
        for path in (("llm_engine", "model_config"), ("model_config",)):
            obj: Any = self.llm
            for attr in path:
                obj = getattr(obj, attr, None)
            value = getattr(obj, "max_model_len", None)
            if isinstance(value, int):
                return value
        return None

    def count_tokens(self, messages: list[Message]) -> int:
        return len(chat_token_ids(self.tokenizer, messages))

    def unsupported(self, params: SamplingParams) -> list[str]:
        return []

    def describe(self) -> dict[str, Any]:
        return {
            "engine": self.name,
            "model": self.model_id,
            **self.settings,
            "context_length": self.context_length,
        }

    def close(self) -> None:
        self.llm = None

    def _generate(self, batch: Batch) -> None:
        requests = batch.requests
        ready: dict[bool, list[tuple[int, Any]]] = {False: [], True: []}
        for i, req in enumerate(requests):
            try:
                n_prompt = self.count_tokens(req.messages)
                room = None
                if self.context_length:
                    room = self.context_length - n_prompt
                    if room < 1:
                        raise ContextLengthError(
                            f"the prompt has {n_prompt} tokens but max_model_len is {self.context_length}: "
                            "raise max_model_len or shorten the input"
                        )
                params = to_vllm_sampling(
                    self._vllm, req.sampling, min(req.sampling.max_tokens, room or req.sampling.max_tokens)
                )
            except Exception as exc:
                batch.fail(i, exc)
                continue
            # a chat ending with an assistant turn is continued, not answered (LLM.chat takes the
            # flag per call, so such requests go in their own call)
            ready[req.messages[-1]["role"] == "assistant"].append((i, params))

        for continue_final, items in ready.items():
            step = self.chunk_size or len(items) or 1
            for lo in range(0, len(items), step):
                self._run(batch, items[lo : lo + step], continue_final)

    def _chat(
        self, requests: Sequence[ChatRequest], items: list[tuple[int, Any]], continue_final: bool
    ) -> list[Any]:
        convs = [
            [{"role": m["role"], "content": m["content"]} for m in requests[i].messages] for i, _ in items
        ]
        return self.llm.chat(
            convs,
            sampling_params=[p for _, p in items],
            use_tqdm=False,
            add_generation_prompt=not continue_final,
            continue_final_message=continue_final,
        )

    def _run(self, batch: Batch, items: list[tuple[int, Any]], continue_final: bool) -> None:
        start = time.perf_counter()
        try:
            outputs = self._chat(batch.requests, items, continue_final)
        except Exception as exc:
            if len(items) == 1:
                batch.fail(items[0][0], exc)
                return
            for item in items:  # find the request that broke the batch; the others go on
                self._run(batch, [item], continue_final)
            return
        elapsed = time.perf_counter() - start
        for (i, _), out in zip(items, outputs, strict=True):
            res = from_vllm_output(out)
            res.elapsed_s = elapsed
            batch.done(i, res)
