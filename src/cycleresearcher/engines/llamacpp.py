"""llama.cpp engine (llama-cpp-python): GGUF files on CPU (or GPU layers), the default for laptops.

The prompt is rendered with the chat template stored in the GGUF and decoded token by token through
``Llama.generate``, which keeps the evaluated tokens in its KV cache and only evaluates the part of
the next prompt that differs. So samples 2..n of a request, and any request that shares a prefix
with the previous one, skip the prefill.

``ignore_eos`` follows vLLM: an end-of-generation token may be sampled but does not end the text
(it is dropped from it), so the model goes on to write the next turns itself, as the released
models did upstream.
"""

from __future__ import annotations

import codecs
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ContextLengthError, EngineError, InputError, ModelNotFoundError, require
from .base import ChatRequest, Completion, Engine, GenerationResult, Message, SamplingParams

#: default cap on the context when the GGUF trains a longer one (the KV cache grows with it)
DEFAULT_MAX_CTX = 32768


@dataclass
class SampleStats:
    """Timing of one sample: ``prompt_eval`` tokens were evaluated before the first new token."""

    prompt_tokens: int
    prompt_eval_tokens: int
    prefill_s: float
    decode_s: float
    completion_tokens: int


def _available_cores() -> int:
    """Every core this process may use. llama.cpp's own default (half the cores, assuming
    hyper-threads) halves decode speed on small machines: 40 vs 74 tok/s on 2 cores."""
    import os

    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def _gguf_context_length(metadata: dict[str, str]) -> int | None:
    arch = metadata.get("general.architecture", "")
    value = metadata.get(f"{arch}.context_length")
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _read_metadata(llama_cpp: Any, path: Path) -> dict[str, str]:
    """The GGUF's metadata, read with the vocabulary only: no weights, no KV cache, and no context
    (a vocab-only ``Llama`` builds one and llama.cpp warns "n_ctx_seq (512) > n_ctx_train (0)")."""
    try:
        from llama_cpp._internals import LlamaModel

        params = llama_cpp.llama_model_default_params()
        params.vocab_only = True
        model = LlamaModel(path_model=str(path), params=params, verbose=False)
        try:
            return model.metadata()
        finally:
            model.close()
    except (ImportError, AttributeError):  # a llama-cpp-python without these internals
        probe = llama_cpp.Llama(model_path=str(path), vocab_only=True, verbose=False)
        try:
            return probe.metadata
        finally:
            probe.close()


class LlamaCppEngine(Engine):
    """``LlamaCppEngine(model="x.gguf", n_ctx=None, n_threads=None, n_gpu_layers=0)``.

    ``n_threads`` defaults to every core available to the process.

    ``n_ctx`` defaults to the context the GGUF was trained with, capped at ``max_ctx`` (32768).
    ``chat_template`` (a Jinja string) replaces the one stored in the GGUF.
    """

    name = "llamacpp"

    def __init__(
        self,
        model: str | None = None,
        *,
        n_ctx: int | None = None,
        max_ctx: int = DEFAULT_MAX_CTX,
        n_threads: int | None = None,
        n_batch: int = 512,
        n_gpu_layers: int = 0,
        chat_template: str | None = None,
        verbose: bool = False,
        **_ignored: Any,
    ):
        from ..models import embedded_model_path
        from .llamacpp_build import prepare_environment

        prepare_environment()  # before the library loads: OpenMP threads spin only briefly
        llama_cpp = require("llama_cpp", "cpu", "the llama.cpp engine")
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        path = Path(model) if model else embedded_model_path()
        if path.suffix.lower() != ".gguf":
            raise InputError(
                f"The llamacpp engine loads .gguf files, not '{model}'. Pass a .gguf path, or choose "
                "--engine hf / vllm for a transformers model."
            )
        if not path.is_file():
            raise ModelNotFoundError(f"GGUF file not found: {path}")
        self.model_id = str(path)
        self._llama_cpp = llama_cpp
        if n_ctx is None:
            trained = _gguf_context_length(_read_metadata(llama_cpp, path)) or 4096
            n_ctx = min(trained, max_ctx)
        try:
            self.llm = llama_cpp.Llama(
                model_path=str(path),
                n_ctx=n_ctx,
                n_threads=n_threads or _available_cores(),
                n_batch=n_batch,
                n_gpu_layers=n_gpu_layers,
                verbose=verbose,
            )
        except ValueError as exc:
            raise EngineError(f"llama.cpp could not load {path}: {exc}") from exc
        self.n_threads = self.llm.n_threads
        self.context_length = self.llm.n_ctx()
        self.trained_context = _gguf_context_length(self.llm.metadata)
        self.n_gpu_layers = n_gpu_layers
        template = chat_template or self.llm.metadata.get("tokenizer.chat_template")
        if not template:
            raise EngineError(
                f"{path.name} has no chat template in its metadata: pass chat_template='...' (Jinja)."
            )
        self._custom_template = chat_template is not None
        self.formatter = Jinja2ChatFormatter(
            template=template,
            eos_token=self._token_text(self.llm.token_eos()),
            bos_token=self._token_text(self.llm.token_bos()),
            add_generation_prompt=True,
        )
        self.eog_ids = self._end_of_generation_ids()
        self.stats: list[SampleStats] = []  # one entry per sample of the last generate() call

    # -- tokens
    def _token_text(self, token: int) -> str:
        return (
            self.llm.detokenize([token], special=True).decode("utf-8", errors="replace") if token >= 0 else ""
        )

    def _end_of_generation_ids(self) -> set[int]:
        """EOS plus every token the vocabulary marks as ending a generation (e.g. ``<|im_end|>``)."""
        ids = {self.llm.token_eos()} - {-1}
        is_eog = getattr(self._llama_cpp, "llama_vocab_is_eog", None)
        vocab = getattr(getattr(self.llm, "_model", None), "vocab", None)
        if is_eog is not None and vocab is not None:
            ids |= {t for t in range(self.llm.n_vocab()) if is_eog(vocab, t)}
        return ids

    def prompt_tokens(self, messages: Sequence[Message]) -> list[int]:
        """The chat rendered with the GGUF's template, tokenized with special tokens parsed."""
        msgs = [{"role": m["role"], "content": m["content"]} for m in messages]
        prompt = self.formatter(messages=msgs).prompt
        # the template writes BOS itself where the model expects it
        return self.llm.tokenize(prompt.encode("utf-8"), add_bos=False, special=True)

    def count_tokens(self, messages: list[Message]) -> int:
        return len(self.prompt_tokens(messages))

    # -- generation
    def _generate_one(self, request: ChatRequest) -> GenerationResult:
        start = time.perf_counter()
        sp = request.sampling
        tokens = self.prompt_tokens(request.messages)
        room = self.context_length - len(tokens)
        if room < 1:
            raise ContextLengthError(
                f"the prompt has {len(tokens)} tokens but the context is {self.context_length} "
                f"(model trained on {self.trained_context}): pass a larger n_ctx or shorten the input"
            )
        comps: list[Completion] = []
        for k in range(sp.n):
            seed = None if sp.seed is None else sp.seed + k  # distinct but reproducible samples
            before = sum(c.completion_tokens or 0 for c in comps)
            comps.append(self._sample(tokens, sp, min(sp.max_tokens, room), seed, before))
        return GenerationResult(
            completions=comps, prompt_tokens=len(tokens), elapsed_s=time.perf_counter() - start
        )

    def _cached_prefix(self, tokens: list[int]) -> int:
        n = 0
        for a, b in zip(self.llm.input_ids[: self.llm.n_tokens], tokens, strict=False):
            if a != b:
                break
            n += 1
        return n

    def _sample(
        self, tokens: list[int], sp: SamplingParams, max_new: int, seed: int | None, before: int = 0
    ) -> Completion:
        """One sample; ``before`` tokens of the request's earlier samples count in its progress."""
        llm = self.llm
        llm.set_seed(seed if seed is not None else self._llama_cpp.LLAMA_DEFAULT_SEED)
        # Llama.generate re-evaluates at least the last prompt token to get fresh logits
        evaluated = max(1, len(tokens) - self._cached_prefix(tokens))
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        max_stop = max((len(s) for s in sp.stop), default=0)
        text = ""
        finish = "length"
        cut_by_stop = False
        count = 0
        t0 = time.perf_counter()
        t_first = None
        self._check_grammar(sp.grammar)
        self._use_grammar(sp.grammar)
        llm.last_n_tokens_size = sp.repeat_last_n  # read by Llama.generate when it builds the sampler
        gen = llm.generate(
            tokens,
            temp=sp.temperature,
            top_p=sp.top_p,
            top_k=0,  # off, with min_p: plain nucleus sampling as in vLLM / the upstream settings
            min_p=0.0,
            repeat_penalty=sp.repeat_penalty,
        )
        try:
            for token in gen:
                if t_first is None:
                    t_first = time.perf_counter()
                count += 1
                self._report_tokens(before + count)
                if token in self.eog_ids:
                    # a finished grammar allows nothing but EOS: ignoring it would sample from an
                    # empty grammar stack, which aborts llama.cpp
                    if not sp.ignore_eos or sp.grammar:
                        finish = "stop"
                        break
                    piece = ""  # skipped like vLLM's skip_special_tokens
                else:
                    piece = decoder.decode(llm.detokenize([token], special=False))
                if piece:
                    text += piece
                    if max_stop:
                        # only the tail can hold a stop string that was not there before
                        tail_from = max(0, len(text) - len(piece) - max_stop + 1)
                        hits = [i for i in (text.find(s, tail_from) for s in sp.stop if s) if i >= 0]
                        if hits:
                            text, finish, cut_by_stop = text[: min(hits)], "stop", True
                            break
                if count >= max_new:
                    break
        finally:
            gen.close()
            self._use_grammar(None)
        if not cut_by_stop:
            text += decoder.decode(b"", final=True)
        end = time.perf_counter()
        t_first = t_first or end
        self.stats.append(
            SampleStats(
                prompt_tokens=len(tokens),
                prompt_eval_tokens=evaluated,
                prefill_s=t_first - t0,
                decode_s=end - t_first,
                completion_tokens=count,
            )
        )
        return Completion(text=text, finish_reason=finish, completion_tokens=count)

    def _use_grammar(self, text: str | None) -> None:
        """Make the next ``Llama.generate`` sample under ``text`` (GBNF), or unconstrained."""
        llm = self.llm
        if not text:
            llm.__dict__.pop("_init_sampler", None)  # back to the class method
            return
        from ._grammar_sampler import GrammarFirstSampler

        plain_init = type(llm)._init_sampler.__get__(llm)

        def init(**kw: Any) -> Any:
            kw.pop("grammar", None)
            return GrammarFirstSampler(
                self._llama_cpp, plain_init(**kw), llm._model.vocab, llm.n_vocab(), text
            )

        llm._init_sampler = init  # generate() builds its sampler through this hook

    def _check_grammar(self, text: str | None) -> None:
        if not text:
            return
        cache = self.__dict__.setdefault("_grammars", set())
        if text not in cache:
            # llama.cpp returns NULL for a grammar it cannot parse and adding NULL to a sampler
            # chain crashes the process: try it once here and fail with a message instead
            lc = self._llama_cpp
            probe = lc.llama_sampler_init_grammar(self.llm._model.vocab, text.encode("utf-8"), b"root")
            if not probe:
                raise InputError("llama.cpp rejected the grammar (GBNF syntax error); see its log above")
            lc.llama_sampler_free(probe)
            cache.add(text)

    def generate(self, requests, on_result=None, on_progress=None):  # type: ignore[no-untyped-def]
        self.stats = []
        return super().generate(requests, on_result, on_progress)

    def unsupported(self, params: SamplingParams) -> list[str]:
        return []

    def describe(self) -> dict[str, Any]:
        return {
            "engine": self.name,
            "model": self.model_id,
            "n_ctx": self.context_length,
            "trained_context": self.trained_context,
            "n_threads": self.n_threads,
            "n_gpu_layers": self.n_gpu_layers,
            "chat_template": "custom" if self._custom_template else "gguf",
        }

    def close(self) -> None:
        llm = getattr(self, "llm", None)
        if llm is not None:
            llm.close()
            self.llm = None
