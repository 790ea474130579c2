"""Any OpenAI-compatible chat server: vLLM serve, SGLang, llama.cpp server, Ollama, hosted APIs.

Three layers, in the shape of lm-eval's ``api_models.py``:
- pure functions that build a payload from a ``ChatRequest`` and parse a response body
  (``openai_wire``);
- one ``Transport`` (``openai_transport``): an ``httpx.Client`` whose calls ``tenacity`` retries on
  408/409/429/5xx and connection errors, each call with one total deadline and a bound on the
  reply's size, and that gives up with a ``TransportError``;
- ``OpenAIEngine`` that runs requests on a bounded set of daemon threads and reports each result
  from the calling thread (so ``on_result`` may write to SQLite without locking); Ctrl-C cuts the
  requests in flight instead of waiting for them.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from ..errors import EngineError, InputError
from .base import (
    Batch,
    ChatRequest,
    Completion,
    Engine,
    GenerationResult,
    Message,
    SamplingParams,
    run_threaded,
)
from .openai_transport import (
    MAX_REPLY_BYTES,
    RETRY_STATUS,
    Transport,
    TransportError,
    backoff_delay,
    is_retryable_status,
)
from .openai_wire import (
    GRAMMAR_FIELDS,
    build_payload,
    grammar_ignored_note,
    grammar_refused_note,
    ignored_eos_note,
    normalize_base_url,
    oversized_note,
    parse_response,
    redact_url,
    streaming,
)

__all__ = [
    "RETRY_STATUS",
    "OpenAIEngine",
    "Transport",
    "TransportError",
    "backoff_delay",
    "is_retryable_status",
]


# --------------------------------------------------------------------------- engine
class OpenAIEngine(Engine):
    """Chat completions over HTTP with bounded concurrency and retries.

    ``base_url`` / ``api_key`` default to ``OPENAI_BASE_URL`` / ``OPENAI_API_KEY``; ``model`` defaults
    to the server's first ``/models`` entry. ``ignore_eos_field`` names the extra body field sent when
    ``ignore_eos`` is asked for (vLLM / SGLang read ``ignore_eos``); ``None`` never sends it.
    ``stream`` (default on) asks for a streamed answer while someone follows the progress, so
    tokens are counted as they come; ``stream=false`` for a server that mishandles streaming.
    ``timeout`` is the most seconds one request may take in all (every attempt, read and retry
    wait), whatever the server sends meanwhile; ``max_reply_bytes`` the most one reply may have.
    """

    name = "openai"

    def __init__(
        self,
        model: str | None = None,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        max_concurrency: int = 8,
        timeout: float = 1800.0,
        max_retries: int = 5,
        backoff: float = 1.0,
        backoff_max: float = 60.0,
        ignore_eos_field: str | None = "ignore_eos",
        max_tokens_field: str = "max_tokens",
        context_length: int | None = None,
        extra_body: dict[str, Any] | None = None,
        grammar_field: str | None = "grammar",
        stream: bool = True,
        max_reply_bytes: int = MAX_REPLY_BYTES,
        **_ignored: Any,
    ):
        url = base_url or os.environ.get("OPENAI_BASE_URL")
        if not url:
            raise InputError(
                "No server URL: pass --base-url http://HOST:PORT/v1 (or set OPENAI_BASE_URL) for the openai engine."
            )
        if max_concurrency < 1:
            raise InputError(f"max_concurrency must be >= 1, got {max_concurrency}")
        if timeout <= 0 or max_reply_bytes < 1:
            raise InputError("timeout and max_reply_bytes must be positive (--engine-opt timeout=SECONDS).")
        self.base_url = normalize_base_url(url)
        key = api_key if api_key is not None else os.environ.get("OPENAI_API_KEY")
        self.max_concurrency = max_concurrency
        self.timeout = timeout
        self.max_reply_bytes = max_reply_bytes
        self.max_retries = max_retries
        self.ignore_eos_field = ignore_eos_field
        self.max_tokens_field = max_tokens_field
        self.extra_body = dict(extra_body or {})
        if grammar_field not in (None, "none", *GRAMMAR_FIELDS):
            raise InputError(
                f"Unknown grammar_field '{grammar_field}'. Use one of: {', '.join(GRAMMAR_FIELDS)}, none."
            )
        self.grammar_field = grammar_field
        self.stream = stream
        self.transport = Transport(
            self.base_url,
            key,
            timeout=timeout,
            max_retries=max_retries,
            backoff=backoff,
            backoff_max=backoff_max,
            max_connections=max_concurrency,
            max_reply_bytes=max_reply_bytes,
        )
        self._models: list[dict[str, Any]] | None = None
        self._lock = threading.Lock()
        self._context_length = context_length
        self._can_tokenize: bool | None = None
        self._grammar_warned = False
        #: the note of a server's refusal of an auto grammar ("" until then): it is not asked again
        self._grammar_refused = ""
        self.model_id = model or self._first_model()

    # -- server metadata
    def _list_models(self) -> list[dict[str, Any]]:
        with self._lock:
            if self._models is None:
                try:
                    body = self.transport.request("GET", "/models", retries=min(self.max_retries, 2))
                except TransportError as exc:
                    raise EngineError(
                        f"Cannot list models at {redact_url(self.base_url)} ({exc}). Is the server running? "
                        "Check --base-url, or pass --model with the served model name."
                    ) from exc
                data = body.get("data") if isinstance(body, dict) else None
                self._models = [m for m in (data or []) if isinstance(m, dict)]
            return self._models

    def served_models(self) -> list[str]:
        """The model ids the server lists (``/models``), in its order."""
        return [str(m["id"]) for m in self._list_models() if m.get("id")]

    def _first_model(self) -> str:
        models = self.served_models()
        if not models:
            raise EngineError(f"The server at {redact_url(self.base_url)} lists no models; pass --model NAME.")
        return models[0]

    @property
    def context_length(self) -> int | None:  # type: ignore[override]
        """Explicit value, else what ``/models`` says (vLLM: ``max_model_len``), else unknown."""
        if self._context_length is None:
            try:
                models = self._list_models()
            except EngineError:
                self._models = []  # unreachable now: don't retry on every access
                return None
            for m in models:
                if m.get("id") == self.model_id or len(models) == 1:
                    for key in ("max_model_len", "context_length", "context_window", "n_ctx"):
                        if isinstance(m.get(key), int):
                            self._context_length = m[key]
                            return self._context_length
        return self._context_length

    @context_length.setter
    def context_length(self, value: int | None) -> None:
        self._context_length = value

    def count_tokens(self, messages: list[Message]) -> int:
        """Exact count from the server's ``/tokenize`` (vLLM, SGLang: chat template applied), else the
        base estimate (servers without that endpoint apply their template out of sight)."""
        if self._can_tokenize is not False:
            root = self.base_url[: -len("/v1")] if self.base_url.endswith("/v1") else self.base_url
            try:
                body = self.transport.request(
                    "POST",
                    f"{root}/tokenize",
                    json={"model": self.model_id, "messages": list(messages), "add_generation_prompt": True},
                    retries=0,
                )
                count = body.get("count") if isinstance(body, dict) else None
                if isinstance(count, int):
                    self._can_tokenize = True
                    return count
                self._can_tokenize = False
            except (TransportError, ValueError):
                self._can_tokenize = False
        return super().count_tokens(messages)

    # -- generation
    def _call(
        self,
        request: ChatRequest,
        n: int,
        seed: int | None,
        warnings: list[str] | None = None,
        on_tokens: Callable[[int], None] | None = None,
        cancel: threading.Event | None = None,
    ) -> tuple[list[Completion], int | None]:
        sampling = request.sampling
        # an auto grammar is not sent where it cannot be: grammar_field=none, or refused before
        unsendable = self._grammar_refused or self.grammar_field in (None, "none")
        if sampling.grammar and sampling.grammar_optional and unsendable:
            sampling = replace(sampling, grammar=None)
            # every result made without its auto grammar says why, not only the one that was refused
            note = self._grammar_refused
            if note and warnings is not None and note not in warnings:
                warnings.append(note)
        payload = build_payload(
            request.messages,
            sampling,
            self.model_id,
            n=n,
            seed=seed,
            ignore_eos_field=self.ignore_eos_field,
            max_tokens_field=self.max_tokens_field,
            extra_body=self.extra_body,
            grammar_field=self.grammar_field,
        )
        try:
            body = self._send(payload, on_tokens, cancel)
        except TransportError as exc:
            if not (sampling.grammar and sampling.grammar_optional and exc.status in (400, 422)):
                raise
            # the auto default asked for a grammar this server does not take: go on without it
            note = grammar_refused_note(self.base_url, self.grammar_field or "grammar", str(exc))
            with self._lock:
                first = not self._grammar_refused
                self._grammar_refused = self._grammar_refused or note
            if first:
                print(f"Warning: {note.removeprefix('engine: ')}", file=sys.stderr)
            return self._call(request, n, seed, warnings, on_tokens, cancel)  # notes the dropped grammar
        try:
            comps, prompt_tokens = parse_response(body)
        except ValueError as exc:
            raise TransportError(f"unexpected response: {exc}") from exc
        too_long = oversized_note(comps, request.sampling.max_tokens)
        if too_long:
            raise TransportError(too_long)
        if request.sampling.ignore_eos and warnings is not None:
            note = ignored_eos_note(body, comps, request.sampling.max_tokens, self.base_url)
            if note:
                warnings.append(note)
        if sampling.grammar and warnings is not None:
            note = self._check_grammar(sampling.grammar, comps)
            if note and note not in warnings:
                warnings.append(note)
        return comps, prompt_tokens

    def _send(
        self, payload: dict[str, Any], on_tokens: Callable[[int], None] | None, cancel: threading.Event | None
    ) -> Any:
        if self.stream and on_tokens is not None:
            body = self.transport.stream("/chat/completions", streaming(payload), on_tokens, cancel)
            if all(c.get("finish_reason") for c in body.get("choices") or [{}]):
                return body
            # a stream that ends with no finish reason was cut by the server (llama_cpp.server
            # interrupts a stream when another request arrives): ask again without streaming
        return self.transport.request("POST", "/chat/completions", json=payload, cancel=cancel)

    def _check_grammar(self, grammar: str, comps: list[Completion]) -> str | None:
        """Note completions that break the grammar they were asked to follow (checked as a prefix:
        max_tokens or a stop string may cut a constrained text short); said on stderr once."""
        from ..prompts.grammars import follows

        if all(follows(grammar, c.text) is not False for c in comps):
            return None
        note = grammar_ignored_note(self.base_url, self.grammar_field or "grammar")
        with self._lock:
            first, self._grammar_warned = not self._grammar_warned, True
        if first:
            print(f"Warning: {note.removeprefix('engine: ')}", file=sys.stderr)
        return note

    def _generate_one(
        self,
        request: ChatRequest,
        report: Callable[[int], None] | None = None,
        cancel: threading.Event | None = None,
    ) -> GenerationResult:
        start = time.perf_counter()
        want = request.sampling.n
        seed = request.sampling.seed
        warnings: list[str] = []

        def tokens_after(before: int) -> Callable[[int], None] | None:
            return None if report is None else (lambda k: report(before + k))

        try:
            comps, prompt_tokens = self._call(request, want, seed, warnings, tokens_after(0), cancel)
            # Servers that ignore `n` (llama.cpp, some hosted APIs) answer once: ask for the rest
            # one by one, with distinct seeds so seeded samples still differ.
            while len(comps) < want:
                k = len(comps)
                before = sum(c.completion_tokens or 0 for c in comps)
                more, pt = self._call(
                    request, 1, None if seed is None else seed + k, warnings, tokens_after(before), cancel
                )
                comps.extend(more)
                prompt_tokens = prompt_tokens if prompt_tokens is not None else pt
        except TransportError as exc:
            return GenerationResult(error=str(exc), elapsed_s=time.perf_counter() - start)
        return GenerationResult(
            completions=comps[:want],
            prompt_tokens=prompt_tokens,
            elapsed_s=time.perf_counter() - start,
            warnings=list(dict.fromkeys(warnings)),
        )

    def _generate(self, batch: Batch) -> None:
        """Token reports come from the worker threads (streamed chunks), ``batch.done`` from the
        calling one. Interrupted (Ctrl-C, or ``on_result`` raising), the requests in flight are cut
        and the exception goes on at once; what was reported stays reported."""
        cancel = threading.Event()  # this batch's: an interrupted batch leaves the engine usable

        def work(i: int) -> GenerationResult:
            try:
                return self._generate_one(batch.requests[i], batch.reporter(i), cancel)
            except Exception as exc:  # never let one request sink the batch
                return GenerationResult(error=f"{type(exc).__name__}: {exc}")

        run_threaded(work, len(batch), self.max_concurrency, batch.done, lambda: self.transport.abort(cancel))

    def unsupported(self, params: SamplingParams) -> list[str]:
        return ["ignore_eos"] if params.ignore_eos and not self.ignore_eos_field else []

    def describe(self) -> dict[str, Any]:
        return {
            "engine": self.name,
            "model": self.model_id,
            "base_url": redact_url(self.base_url),
            "max_concurrency": self.max_concurrency,
            "timeout": self.timeout,
            "max_retries": self.max_retries,
            "ignore_eos_field": self.ignore_eos_field,
            "grammar_field": self.grammar_field,
            "stream": self.stream,
            "context_length": self._context_length,
        }

    def close(self) -> None:
        # calls still in flight on other threads (a web job when the server stops) end now
        self.transport.abort()
        self.transport.close()
