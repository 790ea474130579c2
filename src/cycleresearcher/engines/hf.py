"""transformers engine: a local directory, a hub id already in the cache, or a GGUF file (converted
once by ``hfmodels.hf_model_dir``). Device and dtype are chosen automatically.

Requests with equal sampling settings are batched with left padding, longest prompt first (so an
out-of-memory error shows up on the first batch), and the order is restored. ``n`` samples share
one prefill through ``num_return_sequences``. A seeded request runs alone so that its seed alone
decides its samples.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Sequence
from typing import Any

from ..errors import ContextLengthError
from .base import Batch, ChatRequest, Completion, Engine, GenerationResult, Message, SamplingParams


def chat_prompt(tokenizer: Any, messages: Sequence[Message]) -> str:
    """The prompt string of ``messages`` under the tokenizer's chat template. A chat ending with an
    assistant turn is continued (its text is a prefix of the answer) instead of closed."""
    msgs = [{"role": m["role"], "content": m["content"]} for m in messages]
    if msgs and msgs[-1]["role"] == "assistant":
        return tokenizer.apply_chat_template(msgs, tokenize=False, continue_final_message=True)
    return tokenizer.apply_chat_template(msgs, tokenize=False, add_generation_prompt=True)


def chat_token_ids(tokenizer: Any, messages: Sequence[Message]) -> list[int]:
    # the template already writes BOS where the model wants it: add no special tokens again
    return list(tokenizer(chat_prompt(tokenizer, messages), add_special_tokens=False)["input_ids"])


def cut_at_stop(text: str, stop: Sequence[str]) -> tuple[str, bool]:
    """``text`` up to the earliest stop string (excluded, as vLLM and OpenAI servers do)."""
    cut = min((i for i in (text.find(s) for s in stop if s) if i >= 0), default=-1)
    return (text[:cut], True) if cut >= 0 else (text, False)


def _group_key(sampling: SamplingParams) -> tuple:
    return (
        sampling.temperature,
        sampling.top_p,
        sampling.max_tokens,
        tuple(sampling.stop),
        sampling.n,
        sampling.ignore_eos,
        sampling.grammar,
        sampling.repeat_penalty,
    )


def plan_batches(
    requests: Sequence[ChatRequest], lengths: dict[int, int], batch_size: int
) -> list[list[int]]:
    """Indices of ``lengths`` grouped by equal sampling settings, longest prompt first, at most
    ``batch_size`` per batch; a seeded request gets a batch of its own."""
    order = sorted(lengths, key=lambda i: -lengths[i])
    groups: dict[tuple, list[int]] = {}
    batches: list[list[int]] = []
    for i in order:
        if requests[i].sampling.seed is not None:
            batches.append([i])
            continue
        group = groups.setdefault(_group_key(requests[i].sampling), [])
        group.append(i)
        if len(group) == batch_size:
            batches.append(list(group))
            group.clear()
    batches.extend(g for g in groups.values() if g)
    return batches


class HFEngine(Engine):
    """``HFEngine(model, device="auto", dtype="auto", batch_size=4)``."""

    name = "hf"
    samples_at_once = True  # n samples share one prefill and come back together

    def __init__(
        self,
        model: str | None = None,
        *,
        device: str = "auto",
        dtype: str = "auto",
        batch_size: int = 4,
        **_ignored: Any,
    ):
        from ..hfmodels import load_causal_lm
        from ..models import embedded_model_path

        self.model_id = model or str(embedded_model_path())
        self.batch_size = max(1, batch_size)
        self.model, self.tokenizer = load_causal_lm(self.model_id, device=device, dtype=dtype)
        self.device = str(self.model.device)
        self.dtype = str(self.model.dtype).replace("torch.", "")
        self.tokenizer.padding_side = "left"
        if self.tokenizer.pad_token_id is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.context_length = getattr(self.model.config, "max_position_embeddings", None)
        eos = self.model.generation_config.eos_token_id
        if eos is None:
            eos = self.tokenizer.eos_token_id
        self.eos_ids: set[int] = set(eos if isinstance(eos, list) else [eos]) - {None}

    def count_tokens(self, messages: list[Message]) -> int:
        return len(chat_token_ids(self.tokenizer, messages))

    def unsupported(self, params: SamplingParams) -> list[str]:
        return []

    def describe(self) -> dict[str, Any]:
        return {
            "engine": self.name,
            "model": self.model_id,
            "device": self.device,
            "dtype": self.dtype,
            "batch_size": self.batch_size,
            "context_length": self.context_length,
        }

    def close(self) -> None:
        self.model = None
        self.tokenizer = None

    # -- generation
    def _generate(self, batch: Batch) -> None:
        requests = batch.requests
        prompts: dict[int, list[int]] = {}
        for i, req in enumerate(requests):
            try:
                ids = chat_token_ids(self.tokenizer, req.messages)
                self._check_fits(len(ids))
                prompts[i] = ids
            except Exception as exc:  # a bad chat or an overlong prompt fails alone
                batch.fail(i, exc)

        lengths = {i: len(ids) for i, ids in prompts.items()}
        for group in plan_batches(requests, lengths, self.batch_size):
            reports = [batch.reporter(i) for i in group]
            try:
                outs = self._run_batch([prompts[i] for i in group], requests[group[0]].sampling, reports)
            except Exception as exc:
                if len(group) == 1:
                    batch.fail(group[0], exc)
                    continue
                outs = []
                for i in group:  # isolate the request that broke the batch (e.g. out of memory)
                    try:
                        outs.extend(self._run_batch([prompts[i]], requests[i].sampling))
                    except Exception as exc1:
                        outs.append(GenerationResult(error=f"{type(exc1).__name__}: {exc1}"))
            for i, res in zip(group, outs, strict=True):
                batch.done(i, res)

    def _check_fits(self, n_prompt: int) -> None:
        if self.context_length and n_prompt >= self.context_length:
            raise ContextLengthError(
                f"the prompt has {n_prompt} tokens but the model's context is {self.context_length}: "
                "shorten the input (e.g. fewer references)"
            )

    def _run_batch(
        self,
        prompts: list[list[int]],
        sampling: SamplingParams,
        reports: Sequence[Callable[[int], None] | None] = (),
    ) -> list[GenerationResult]:
        from ..hfmodels import inference_mode, manual_seed

        start = time.perf_counter()
        tok = self.tokenizer
        enc = tok.pad({"input_ids": prompts}, padding=True, return_tensors="pt").to(self.model.device)
        width = enc["input_ids"].shape[1]
        max_new = sampling.max_tokens
        if self.context_length:
            max_new = max(1, min(max_new, self.context_length - max(len(p) for p in prompts)))

        gc = copy.deepcopy(self.model.generation_config)
        gc.max_new_tokens = max_new
        gc.num_return_sequences = sampling.n
        gc.pad_token_id = tok.pad_token_id
        gc.do_sample = sampling.temperature > 0
        gc.temperature = sampling.temperature if gc.do_sample else None
        gc.top_p = sampling.top_p if gc.do_sample else None
        gc.top_k = None  # plain nucleus sampling, like vLLM and the upstream settings
        if sampling.repeat_penalty != 1.0:
            gc.repetition_penalty = sampling.repeat_penalty
        if sampling.stop:
            gc.stop_strings = list(sampling.stop)
        if sampling.ignore_eos and not sampling.grammar:  # a grammar allows EOS only once it is complete
            # As vLLM's ignore_eos: EOS may be sampled but does not end the text (it is skipped on
            # decoding), so the model can go on to write the next turns itself. generate() refills
            # an unset eos_token_id from the model, so name an id the model can never sample.
            gc.eos_token_id = self._never_sampled_id()
        processors = []
        if sampling.grammar:
            from transformers import LogitsProcessorList

            from .hf_grammar import GrammarLogitsProcessor

            rows = len(prompts) * sampling.n
            n_vocab = self._never_sampled_id()
            top_p = gc.top_p if gc.do_sample and gc.top_p is not None else 1.0
            gc.top_p = None  # after the grammar's mask, in the processor (see hf_grammar)
            processors = [GrammarLogitsProcessor(tok, sampling.grammar, rows, n_vocab, self.eos_ids, top_p)]
        if sampling.seed is not None:
            manual_seed(sampling.seed)
        live = [r for r in reports if r is not None]
        streamer = StepCounter(live, sampling.n, max_new) if live else None
        with inference_mode():
            kwargs = {"logits_processor": LogitsProcessorList(processors)} if processors else {}
            out = self.model.generate(**enc, generation_config=gc, tokenizer=tok, streamer=streamer, **kwargs)
        elapsed = time.perf_counter() - start

        results = []
        for b, prompt in enumerate(prompts):
            comps = [
                self._completion(out[b * sampling.n + k, width:].tolist(), sampling, max_new)
                for k in range(sampling.n)
            ]
            results.append(GenerationResult(completions=comps, prompt_tokens=len(prompt), elapsed_s=elapsed))
        return results

    def _never_sampled_id(self) -> int:
        return int(self.model.get_output_embeddings().weight.shape[0])

    def _completion(self, ids: list[int], sampling: SamplingParams, max_new: int) -> Completion:
        ended_by_eos = False
        if not sampling.ignore_eos or sampling.grammar:
            for j, t in enumerate(ids):
                if t in self.eos_ids:
                    ids, ended_by_eos = ids[: j + 1], True
                    break
        text = self.tokenizer.decode(ids, skip_special_tokens=True)
        text, stopped = cut_at_stop(text, sampling.stop)
        if stopped:
            # a sequence that stopped early is padded up to the longest one in the batch
            pad = self.tokenizer.pad_token_id
            while ids and ids[-1] == pad:
                ids = ids[:-1]
        reason = "stop" if stopped or ended_by_eos else "length"
        return Completion(text=text, finish_reason=reason, completion_tokens=len(ids))


class StepCounter:
    """A ``generate`` streamer (transformers' ``BaseStreamer`` shape: ``put`` / ``end``) that
    reports each request's tokens so far: transformers puts the prompt once, then one token per
    row at every decoding step. A row that already stopped is padded until the batch ends, so the
    count is an upper bound; the runner's done event then gives the real one."""

    def __init__(self, reports: Sequence[Callable[[int], None]], n: int, max_new: int):
        self.reports = list(reports)
        self.n = n
        self.max_new = max_new
        self.steps = 0
        self._prompt_seen = False

    def put(self, value: Any) -> None:
        if not self._prompt_seen:
            self._prompt_seen = True
            return
        self.steps = min(self.steps + 1, self.max_new)
        for report in self.reports:
            report(self.steps * self.n)

    def end(self) -> None:
        """Nothing to flush: the counts were reported as they came."""
