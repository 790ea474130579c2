"""Any OpenAI-compatible chat server: vLLM serve, SGLang, llama.cpp server, Ollama, hosted APIs.

Three layers, in the shape of lm-eval's ``api_models.py``:
- pure functions that build a payload from a ``ChatRequest`` and parse a response body
  (``openai_wire``);
- one ``Transport``: an ``httpx.Client`` whose calls ``tenacity`` retries on 408/409/429/5xx,
  timeouts and connection errors, waiting the server's ``Retry-After`` or an exponential backoff
  with jitter, and that gives up with a ``TransportError``;
- ``OpenAIEngine`` that runs requests on a bounded thread pool and reports each result from the
  calling thread (so ``on_result`` may write to SQLite without locking).
"""

from __future__ import annotations

import os
import random
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import replace
from typing import Any

import httpx
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt

from ..errors import EngineError, InputError
from .base import (
    ChatRequest,
    Completion,
    Engine,
    GenerationResult,
    Message,
    OnProgress,
    OnResult,
    SamplingParams,
    token_reporter,
)
from .openai_wire import (
    GRAMMAR_FIELDS,
    StreamAssembler,
    build_payload,
    error_message,
    grammar_ignored_note,
    grammar_refused_note,
    ignored_eos_note,
    normalize_base_url,
    parse_response,
    redact_url,
    streaming,
)

#: status codes worth retrying: rate limits, timeouts and server-side failures
RETRY_STATUS = frozenset({408, 409, 429})


def is_retryable_status(status: int) -> bool:
    return status in RETRY_STATUS or status >= 500


def backoff_delay(attempt: int, base: float, cap: float, retry_after: str | None = None) -> float:
    """Seconds to wait before retry ``attempt`` (0-based): the server's Retry-After when it gives a
    number, else ``base * 2**attempt`` times a random 0.5-1 (jitter), never more than ``cap``."""
    if retry_after:
        try:
            return min(cap, max(0.0, float(retry_after)))
        except ValueError:
            pass  # an HTTP date: fall back to our own schedule
    return min(cap, base * (2**attempt)) * (0.5 + random.random() / 2)


# --------------------------------------------------------------------------- transport
class TransportError(EngineError):
    """A call that failed for good (after retries, or a 4xx that retrying cannot fix)."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


class _Retryable(Exception):
    """One failed attempt that another may fix (a timeout, a dropped connection, 429, 5xx)."""

    def __init__(self, problem: str, status: int | None = None, retry_after: str | None = None):
        super().__init__(problem)
        self.problem, self.status, self.retry_after = problem, status, retry_after


class Transport:
    """One HTTP client with retries. Thread-safe (httpx.Client is, and each call has its own
    ``tenacity.Retrying``)."""

    def __init__(
        self,
        base_url: str,
        api_key: str | None = None,
        *,
        timeout: float = 600.0,
        connect_timeout: float = 10.0,
        max_retries: int = 5,
        backoff: float = 1.0,
        backoff_max: float = 60.0,
        max_connections: int = 8,
    ):
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.base_url = base_url
        self.max_retries = max_retries
        self.backoff = backoff
        self.backoff_max = backoff_max
        self.client = httpx.Client(
            base_url=base_url,
            headers=headers,
            timeout=httpx.Timeout(timeout, connect=min(connect_timeout, timeout)),
            limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
        )

    def request(
        self, method: str, path: str, json: dict[str, Any] | None = None, retries: int | None = None
    ) -> Any:
        """The JSON body of a successful call; ``TransportError`` once retrying cannot help."""
        return self._retrying(method, path, retries)(self._attempt, method, path, json)

    def stream(self, path: str, json: dict[str, Any], on_tokens: Callable[[int], None] | None = None) -> Any:
        """POST a streamed call (``openai_wire.streaming``) and return the body its chunks add up
        to, calling ``on_tokens(completion tokens so far)`` as text arrives. A server that answers
        plain JSON instead (it ignored ``stream``) is read as a plain call. Retried like ``request``;
        a retry starts the answer over."""
        return self._retrying("POST", path, None)(self._stream_attempt, path, json, on_tokens)

    def _retrying(self, method: str, path: str, retries: int | None) -> Retrying:
        def give_up(state: RetryCallState) -> Any:
            last = state.outcome.exception() if state.outcome else None
            problem, status = (
                (last.problem, last.status) if isinstance(last, _Retryable) else (str(last), None)
            )
            raise TransportError(
                f"{method} {path} failed after {state.attempt_number} attempts: {problem}", status
            ) from last

        return Retrying(
            stop=stop_after_attempt(1 + (self.max_retries if retries is None else retries)),
            retry=retry_if_exception_type(_Retryable),
            wait=self._wait,
            retry_error_callback=give_up,
        )

    def _wait(self, state: RetryCallState) -> float:
        last = state.outcome.exception() if state.outcome else None
        retry_after = last.retry_after if isinstance(last, _Retryable) else None
        return backoff_delay(state.attempt_number - 1, self.backoff, self.backoff_max, retry_after)

    def _attempt(self, method: str, path: str, json: dict[str, Any] | None) -> Any:
        try:
            resp = self.client.request(method, path, json=json)
        except httpx.TransportError as exc:  # connect/read errors and timeouts
            raise _Retryable(f"{type(exc).__name__}: {str(exc) or 'no detail'}") from exc
        return self._answer(resp, method, path)

    def _stream_attempt(
        self, path: str, json: dict[str, Any], on_tokens: Callable[[int], None] | None
    ) -> Any:
        try:
            with self.client.stream("POST", path, json=json) as resp:
                if resp.status_code >= 400 or "text/event-stream" not in resp.headers.get("content-type", ""):
                    resp.read()
                    return self._answer(resp, "POST", path)
                chunks = StreamAssembler()
                for line in resp.iter_lines():
                    try:
                        grew = chunks.feed(line)
                    except ValueError as exc:
                        raise TransportError(
                            f"POST {path}: unexpected stream chunk ({exc}): {line[:200]!r}"
                        ) from exc
                    if grew and on_tokens is not None:
                        on_tokens(chunks.tokens)
                    if chunks.done:
                        break
                return chunks.body()
        except httpx.TransportError as exc:  # connect/read errors and timeouts, mid-stream too
            raise _Retryable(f"{type(exc).__name__}: {str(exc) or 'no detail'}") from exc

    def _answer(self, resp: httpx.Response, method: str, path: str) -> Any:
        """The JSON body of a read response, or the error it stands for."""
        if resp.status_code < 400:
            try:
                return resp.json()
            except ValueError as exc:
                raise TransportError(
                    f"{method} {path}: the server did not answer JSON: {resp.text[:200]!r}"
                ) from exc
        status = resp.status_code
        try:
            detail = error_message(resp.json())
        except ValueError:
            detail = resp.text[:500]
        problem = f"HTTP {status}: {detail}"
        if not is_retryable_status(status):
            raise TransportError(f"{method} {path} failed: {problem}", status)
        raise _Retryable(problem, status, resp.headers.get("retry-after"))

    def close(self) -> None:
        self.client.close()


# --------------------------------------------------------------------------- engine
class OpenAIEngine(Engine):
    """Chat completions over HTTP with bounded concurrency and retries.

    ``base_url`` / ``api_key`` default to ``OPENAI_BASE_URL`` / ``OPENAI_API_KEY``; ``model`` defaults
    to the server's first ``/models`` entry. ``ignore_eos_field`` names the extra body field sent when
    ``ignore_eos`` is asked for (vLLM / SGLang read ``ignore_eos``); ``None`` never sends it.
    ``stream`` (default on) asks for a streamed answer while someone follows the progress, so
    tokens are counted as they come; ``stream=false`` for a server that mishandles streaming.
    """

    name = "openai"

    def __init__(
        self,
        model: str | None = None,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        max_concurrency: int = 8,
        timeout: float = 600.0,
        max_retries: int = 5,
        backoff: float = 1.0,
        backoff_max: float = 60.0,
        ignore_eos_field: str | None = "ignore_eos",
        max_tokens_field: str = "max_tokens",
        context_length: int | None = None,
        extra_body: dict[str, Any] | None = None,
        grammar_field: str | None = "grammar",
        stream: bool = True,
        **_ignored: Any,
    ):
        url = base_url or os.environ.get("OPENAI_BASE_URL")
        if not url:
            raise InputError(
                "No server URL: pass --base-url http://HOST:PORT/v1 (or set OPENAI_BASE_URL) for the openai engine."
            )
        if max_concurrency < 1:
            raise InputError(f"max_concurrency must be >= 1, got {max_concurrency}")
        self.base_url = normalize_base_url(url)
        key = api_key if api_key is not None else os.environ.get("OPENAI_API_KEY")
        self.max_concurrency = max_concurrency
        self.timeout = timeout
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
        models = self._list_models()
        if not models or not models[0].get("id"):
            raise EngineError(
                f"The server at {redact_url(self.base_url)} lists no models; pass --model NAME."
            )
        return str(models[0]["id"])

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
            body = self._send(payload, on_tokens)
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
            return self._call(request, n, seed, warnings, on_tokens)  # says the note as it drops the grammar
        try:
            comps, prompt_tokens = parse_response(body)
        except ValueError as exc:
            raise TransportError(f"unexpected response: {exc}") from exc
        if request.sampling.ignore_eos and warnings is not None:
            note = ignored_eos_note(body, comps, request.sampling.max_tokens, self.base_url)
            if note:
                warnings.append(note)
        if sampling.grammar and warnings is not None:
            note = self._check_grammar(sampling.grammar, comps)
            if note and note not in warnings:
                warnings.append(note)
        return comps, prompt_tokens

    def _send(self, payload: dict[str, Any], on_tokens: Callable[[int], None] | None) -> Any:
        if self.stream and on_tokens is not None:
            body = self.transport.stream("/chat/completions", streaming(payload), on_tokens)
            if all(c.get("finish_reason") for c in body.get("choices") or [{}]):
                return body
            # a stream that ends with no finish reason was cut by the server (llama_cpp.server
            # interrupts a stream when another request arrives): ask again without streaming
        return self.transport.request("POST", "/chat/completions", json=payload)

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
        self, request: ChatRequest, report: Callable[[int], None] | None = None
    ) -> GenerationResult:
        start = time.perf_counter()
        want = request.sampling.n
        seed = request.sampling.seed
        warnings: list[str] = []

        def tokens_after(before: int) -> Callable[[int], None] | None:
            return None if report is None else (lambda k: report(before + k))

        try:
            comps, prompt_tokens = self._call(request, want, seed, warnings, tokens_after(0))
            # Servers that ignore `n` (llama.cpp, some hosted APIs) answer once: ask for the rest
            # one by one, with distinct seeds so seeded samples still differ.
            while len(comps) < want:
                k = len(comps)
                before = sum(c.completion_tokens or 0 for c in comps)
                more, pt = self._call(
                    request, 1, None if seed is None else seed + k, warnings, tokens_after(before)
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

    def generate(
        self,
        requests: Sequence[ChatRequest],
        on_result: OnResult | None = None,
        on_progress: OnProgress | None = None,
    ) -> list[GenerationResult]:
        """``on_progress`` is called from the worker threads (streamed tokens), ``on_result``
        from the calling one."""
        results: list[GenerationResult | None] = [None] * len(requests)

        def work(i: int, req: ChatRequest) -> GenerationResult:
            try:
                return self._generate_one(req, token_reporter(on_progress, i, req))
            except Exception as exc:  # never let one request sink the batch
                return GenerationResult(error=f"{type(exc).__name__}: {exc}")

        with ThreadPoolExecutor(max_workers=min(self.max_concurrency, max(1, len(requests)))) as pool:
            futures = {pool.submit(work, i, req): i for i, req in enumerate(requests)}
            for fut in as_completed(futures):
                i = futures[fut]
                res = fut.result()
                res.request_id = requests[i].request_id
                results[i] = res
                if on_result is not None:
                    on_result(i, res)  # from the calling thread: safe for SQLite
        return [r if r is not None else GenerationResult(error="no result") for r in results]

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
        self.transport.close()
