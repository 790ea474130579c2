"""llama.cpp engine (llama-cpp-python): GGUF files on CPU (or GPU layers), the default for laptops.

The prompt is rendered with the chat template stored in the GGUF. Several sequences (the n samples
of a request, the requests of a batch) are decoded together, up to ``max_sequences`` per
``llama_decode`` step, in ``llamacpp_batch``: a step reads every weight once for all of them. One
sequence alone (or ``max_sequences=1``) goes token by token through ``Llama.generate``. Both keep
the evaluated tokens in the KV cache and evaluate only the part of a prompt that differs, so
samples 2..n of a request, and any request that shares a prefix with an earlier one, skip most of
the prefill.

``ignore_eos`` follows vLLM: an end-of-generation token may be sampled but does not end the text
(it is dropped from it), so the model goes on to write the next turns itself, as the released
models did upstream.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ..errors import ContextLengthError, EngineError, InputError, ModelNotFoundError, require
from .base import Batch, ChatRequest, Completion, Engine, GenerationResult, Message, SamplingParams
from .llamacpp_text import SampleStats, SequenceText

__all__ = ["DEFAULT_MAX_CTX", "LlamaCppEngine", "SampleStats", "load_scoring_model"]

#: default cap on the context when the GGUF trains a longer one (the KV cache grows with it)
DEFAULT_MAX_CTX = 32768
#: sequences decoded together by default: on an idle 2-core machine 4 decode 1.4-1.5x faster than
#: one at a time, and reviewing 4 papers / drawing 4 samples end to end is 1.2x faster
#: (benchmarks/results/batched_decode.md); they share the context's KV cells, so this costs no
#: memory: a sequence waits until it fits. ``--engine-opt max_sequences=1`` for one at a time
DEFAULT_MAX_SEQUENCES = 4


def _available_cores() -> int:
    """Every core this process may use. llama.cpp's own default (half the cores, assuming
    hyper-threads) halves decode speed on small machines: 40 vs 74 tok/s on 2 cores."""
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


def load_scoring_model(gguf: str, window: int, threads: int | None = None) -> Any:
    """A ``Llama`` that keeps the logits of every position of a ``window``-token context: the
    detector's llama.cpp scorer (so that only this package imports llama_cpp)."""
    from .llamacpp_build import prepare_environment

    prepare_environment()
    llama_cpp = require("llama_cpp", "cpu", "scoring a GGUF model with llama.cpp")
    return llama_cpp.Llama(
        model_path=gguf,
        n_ctx=window,
        n_batch=min(window, 512),
        logits_all=True,
        n_threads=threads or os.cpu_count(),
        verbose=False,
    )


class LlamaCppEngine(Engine):
    """``LlamaCppEngine(model="x.gguf", n_ctx=None, n_threads=None, n_gpu_layers=0, max_sequences=4)``.

    ``n_threads`` defaults to every core available to the process.

    ``max_sequences`` caps the sequences decoded together (1: one at a time). They share the
    context's ``n_ctx`` KV cells (a common prompt prefix is stored once): a sequence starts only
    when its unshared prompt and ``max_tokens`` fit beside the running ones.

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
        max_sequences: int = DEFAULT_MAX_SEQUENCES,
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
        if max_sequences < 1:
            raise InputError(f"max_sequences must be at least 1, got {max_sequences}")
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
        self.max_sequences = self._allow_sequences(max_sequences)
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
        #: (tokens in the batch, of which prompt tokens, seconds) per decode step of the last
        #: batched generate() call
        self.steps: list[tuple[int, int, float]] = []

    def _allow_sequences(self, wanted: int) -> int:
        """Rebuild the context for ``wanted`` sequences with one unified KV cache (Llama makes a
        one-sequence context); 1 where the model's memory cannot share a prefix between sequences."""
        lc, llm = self._llama_cpp, self.llm
        model = llm._model.model
        if wanted == 1 or lc.llama_model_is_recurrent(model) or lc.llama_model_is_hybrid(model):
            return 1
        from llama_cpp._internals import LlamaContext

        # one more than decode together: a finished sequence stays as a prefix source for later ones
        n_seq = min(wanted + 1, lc.llama_max_parallel_sequences())
        params = llm.context_params
        params.n_seq_max = n_seq
        params.kv_unified = True  # one pool of n_ctx cells: a shared prefix is stored once
        llm._ctx.close()  # first, so that two KV caches never exist at once
        try:
            llm._ctx = LlamaContext(model=llm._model, params=params, verbose=llm.verbose)
        except ValueError as exc:
            raise EngineError(f"llama.cpp could not make a context for {n_seq} sequences: {exc}") from exc
        return n_seq - 1

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
    def _generate(self, batch: Batch) -> None:
        self.stats = []
        self.steps = []
        if self.max_sequences > 1 and sum(r.sampling.n for r in batch.requests) > 1:
            from .llamacpp_batch import BatchDecoder

            BatchDecoder(self).run(batch)
        else:
            batch.each(self._generate_one)

    def _generate_one(self, request: ChatRequest, report: Callable[[int], None] | None) -> GenerationResult:
        """One request through ``Llama.generate``, its samples one after the other."""
        start = time.perf_counter()
        sp = request.sampling
        tokens = self.prompt_tokens(request.messages)
        room = self.check_prompt(tokens)
        comps: list[Completion] = []
        for k in range(sp.n):
            seed = None if sp.seed is None else sp.seed + k  # distinct but reproducible samples
            before = sum(c.completion_tokens or 0 for c in comps)
            comps.append(self._sample(tokens, sp, min(sp.max_tokens, room), seed, before, report))
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
        self,
        tokens: list[int],
        sp: SamplingParams,
        max_new: int,
        seed: int | None,
        before: int = 0,
        report: Callable[[int], None] | None = None,
    ) -> Completion:
        """One sample; ``before`` tokens of the request's earlier samples count in its progress."""
        llm = self.llm
        llm.set_seed(seed if seed is not None else self._llama_cpp.LLAMA_DEFAULT_SEED)
        # Llama.generate re-evaluates at least the last prompt token to get fresh logits
        evaluated = max(1, len(tokens) - self._cached_prefix(tokens))
        out = SequenceText(sp, max_new, self.eog_ids, self._piece)
        t0 = time.perf_counter()
        t_first = None
        self._check_grammar(sp.grammar)
        self._use_grammar(sp.grammar)
        llm.last_n_tokens_size = sp.repeat_last_n  # read by Llama.generate when it builds the sampler
        gen = llm.generate(tokens, **self._sampler_settings(sp))
        try:
            for token in gen:
                if t_first is None:
                    t_first = time.perf_counter()
                if report is not None:
                    report(before + out.count + 1)
                if out.feed(token):
                    break
        finally:
            gen.close()
            self._use_grammar(None)
        completion = out.completion()
        count = out.count
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
        return completion

    def _piece(self, token: int) -> bytes:
        return self.llm.detokenize([token], special=False)

    @staticmethod
    def _sampler_settings(sp: SamplingParams) -> dict[str, Any]:
        return {
            "temp": sp.temperature,
            "top_p": sp.top_p,
            "top_k": 0,  # off, with min_p: plain nucleus sampling as in vLLM / the upstream settings
            "min_p": 0.0,
            "repeat_penalty": sp.repeat_penalty,
        }

    def make_sampler(self, sp: SamplingParams, seed: int | None) -> Any:
        """A sampler chain of its own for one sequence, the one ``Llama.generate`` would build
        (penalties, top-p, temperature, seeded dist), behind the grammar when there is one."""
        llm = self.llm
        llm.set_seed(seed if seed is not None else self._llama_cpp.LLAMA_DEFAULT_SEED)
        llm.last_n_tokens_size = sp.repeat_last_n
        # the class's method: the instance hook set by _use_grammar is the one-at-a-time path's
        plain = type(llm)._init_sampler(llm, **self._sampler_settings(sp))
        if not sp.grammar:
            return plain
        from ._grammar_sampler import GrammarFirstSampler

        return GrammarFirstSampler(self._llama_cpp, plain, llm._model.vocab, llm.n_vocab(), sp.grammar)

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

    def check_prompt(self, tokens: list[int]) -> int:
        """Room left for new tokens after the prompt; ContextLengthError when there is none."""
        room = self.context_length - len(tokens)
        if room < 1:
            raise ContextLengthError(
                f"the prompt has {len(tokens)} tokens but the context is {self.context_length} "
                f"(model trained on {self.trained_context}): pass a larger n_ctx or shorten the input"
            )
        return room

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
            "max_sequences": self.max_sequences,
            "chat_template": "custom" if self._custom_template else "gguf",
        }

    def close(self) -> None:
        llm = getattr(self, "llm", None)
        if llm is not None:
            llm.close()
            self.llm = None
