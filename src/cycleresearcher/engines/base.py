"""The engine contract: a list of chat requests in, a list of results out, in the same order.

``Engine.generate(requests, on_result, on_progress)`` is the one entry point, written once here:
it frames the call as a ``Batch`` (the results in order, each one's ``request_id``, its elapsed
time, ``on_result(index, result)`` as soon as it is finished so that the run store can persist it
and a killed run loses nothing finished, a result for every request). An engine implements one
hook, ``_generate(batch)``: run ``batch.requests`` and hand each result to ``batch.done(i, result)``
(or ``batch.fail(i, exc)``), batching as it can (vLLM: one call; llama.cpp: several sequences per
decode step; HTTP: bounded concurrency). An engine that goes one request at a time writes
``batch.each(self._one)`` with ``_one(request, report) -> GenerationResult``.

Progress: ``batch.reporter(i)`` is request ``i``'s ``tokens -> None`` (None when nobody follows);
engines that see tokens as they are made call it, the others need not: the runner reports each
request when it finishes. Engines that draw samples one at a time get one request per sample from
the runner (``engines.runner``; see ``Engine.samples_at_once``).

An engine's constructor takes ``model`` (a model id or path; None: the engine's default) and its
settings as keywords: ``load_engine`` passes ``--model`` and the checked ``--engine-opt`` values
that way. Model names (size aliases, families) are resolved before, in ``models.session``.
"""

from __future__ import annotations

import queue
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, TypeVar

from ..errors import InputError

Message = dict[str, str]  # {"role": "system"|"user"|"assistant", "content": str}


@dataclass
class SamplingParams:
    """Sampling settings shared by every engine. Engines ignore what they cannot honour and say so
    in ``Engine.unsupported(params)``."""

    temperature: float = 0.4
    top_p: float = 0.95
    max_tokens: int = 512
    stop: list[str] = field(default_factory=list)
    n: int = 1
    seed: int | None = None
    ignore_eos: bool = False
    #: a GBNF grammar the output must follow (``structure.grammar_for``); None: unconstrained
    grammar: str | None = None
    #: llama.cpp-style repetition penalty (1.0 = off); the embedded model's default is measured
    #: in benchmarks/repetition.py. vLLM maps it to ``repetition_penalty``.
    repeat_penalty: float = 1.0
    #: how many of the last tokens the repetition penalty looks at (llama.cpp ``repeat_last_n``;
    #: vLLM and transformers penalise every earlier token and ignore it)
    repeat_last_n: int = 64
    #: the grammar came from the auto default, not from --constrain: a server that refuses its
    #: field (HTTP 4xx) is then asked again without it, with a warning; bookkeeping, not payload
    grammar_optional: bool = False

    def __post_init__(self) -> None:
        if self.temperature < 0:
            raise InputError(f"temperature must be >= 0, got {self.temperature}")
        if not 0 < self.top_p <= 1:
            raise InputError(f"top_p must be in (0, 1], got {self.top_p}")
        if self.max_tokens < 1:
            raise InputError(f"max_tokens must be >= 1, got {self.max_tokens}")
        if self.n < 1:
            raise InputError(f"n must be >= 1, got {self.n}")
        if self.repeat_penalty <= 0:
            raise InputError(f"repeat_penalty must be > 0, got {self.repeat_penalty}")
        if self.repeat_last_n < 1:
            raise InputError(f"repeat_last_n must be >= 1, got {self.repeat_last_n}")
        self.stop = list(self.stop or [])

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        del data["grammar_optional"]  # how the grammar was chosen, not what is asked
        # settings added later are left out at their defaults, so the request keys (content
        # hashes) of earlier run stores stay the same and a resume reuses their results
        for key, default in (("grammar", None), ("repeat_penalty", 1.0), ("repeat_last_n", 64)):
            if data[key] == default:
                del data[key]
        return data


@dataclass
class ChatRequest:
    """One prompt (a multi-turn chat) to be sampled ``sampling.n`` times."""

    messages: list[Message]
    sampling: SamplingParams = field(default_factory=SamplingParams)
    request_id: str | None = None
    #: where this request's samples start among those of the request it is part of (the run store
    #: sends sample k of n alone, seeded ``seed + k``); bookkeeping, not part of the payload
    first_sample: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"messages": self.messages, "sampling": self.sampling.to_dict(), "request_id": self.request_id}


@dataclass
class Completion:
    text: str
    finish_reason: str | None = None  # "stop", "length", "error", ...
    completion_tokens: int | None = None


@dataclass
class GenerationResult:
    """What came back for one request: ``n`` completions, or an error (the batch goes on)."""

    completions: list[Completion] = field(default_factory=list)
    prompt_tokens: int | None = None
    elapsed_s: float = 0.0
    error: str | None = None
    request_id: str | None = None
    #: settings the engine could not honour for this request (e.g. a server that ignores ignore_eos)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def text(self) -> str:
        return self.completions[0].text if self.completions else ""

    @property
    def completion_tokens(self) -> int:
        return sum(c.completion_tokens or 0 for c in self.completions)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GenerationResult:
        comps = [Completion(**c) for c in data.get("completions", [])]
        return cls(
            completions=comps,
            prompt_tokens=data.get("prompt_tokens"),
            elapsed_s=data.get("elapsed_s", 0.0),
            error=data.get("error"),
            request_id=data.get("request_id"),
            warnings=list(data.get("warnings") or []),
        )


OnResult = Callable[[int, GenerationResult], None]


@dataclass(frozen=True)
class TokenProgress:
    """How far one request of a ``generate`` batch is: ``tokens`` new tokens so far (all its
    samples) of at most ``max_tokens`` (``sampling.max_tokens * n``), ``elapsed_s`` since it began.
    ``done`` marks its last event (``tokens`` is then its final count)."""

    index: int  # position in the list given to ``generate``
    request_id: str | None
    tokens: int
    max_tokens: int
    elapsed_s: float
    done: bool = False


OnProgress = Callable[[TokenProgress], None]


class Batch:
    """One ``generate`` call as an engine's ``_generate`` sees it: the requests, where each result
    goes (``done`` / ``fail``), and each request's token reporter. ``done`` is to be called from the
    thread that called ``generate`` (``on_result`` may write to SQLite), at most once per request."""

    def __init__(
        self,
        requests: Sequence[ChatRequest],
        on_result: OnResult | None = None,
        on_progress: OnProgress | None = None,
    ):
        self.requests = list(requests)
        self._on_result = on_result
        self._on_progress = on_progress
        self._results: list[GenerationResult | None] = [None] * len(self.requests)
        self._start = time.perf_counter()

    def __len__(self) -> int:
        return len(self.requests)

    def reporter(self, index: int) -> Callable[[int], None] | None:
        """Request ``index``'s ``tokens -> None`` (new tokens so far, all its samples); its clock
        starts now. None when nobody follows the progress."""
        return token_reporter(self._on_progress, index, self.requests[index])

    def done(self, index: int, result: GenerationResult) -> None:
        """Request ``index`` finished: its result is stamped with the request's id (and, when the
        engine did not time it, the time since the batch began) and reported."""
        result.request_id = self.requests[index].request_id
        result.elapsed_s = result.elapsed_s or (time.perf_counter() - self._start)
        self._results[index] = result
        if self._on_result is not None:
            self._on_result(index, result)

    def fail(self, index: int, exc: BaseException | str) -> None:
        """Request ``index`` failed; the batch goes on."""
        error = exc if isinstance(exc, str) else f"{type(exc).__name__}: {exc}"
        self.done(index, GenerationResult(error=error))

    def pending(self) -> list[int]:
        """The requests with no result yet."""
        return [i for i, r in enumerate(self._results) if r is None]

    def each(
        self, one: Callable[[ChatRequest, Callable[[int], None] | None], GenerationResult]
    ) -> None:
        """Run the requests one at a time through ``one(request, report)``; one that raises fails
        alone, and each is timed from its own start."""
        for i, req in enumerate(self.requests):
            start = time.perf_counter()
            try:
                res = one(req, self.reporter(i))
            except Exception as exc:  # one bad request must not sink the batch
                res = GenerationResult(error=f"{type(exc).__name__}: {exc}")
            res.elapsed_s = res.elapsed_s or (time.perf_counter() - start)
            self.done(i, res)

    def results(self) -> list[GenerationResult]:
        """Every request's result, in order; a request the engine skipped fails."""
        return [
            r if r is not None else GenerationResult(error="engine returned no result", request_id=q.request_id)
            for r, q in zip(self._results, self.requests, strict=True)
        ]


class Engine(ABC):
    """Base class of all engines: ``generate`` is written here; subclasses implement ``_generate``
    and ``describe`` (and, where they know better than the estimate, ``count_tokens``)."""

    name: str = "base"
    #: the model's context window in tokens, when known
    context_length: int | None = None
    model_id: str = ""
    #: True where all n samples of a request come from one pass and arrive together (vLLM's
    #: offline batch, HF ``num_return_sequences``); otherwise the runner sends one request per
    #: sample (n=1, seed + k) so that each finished sample is stored before the next one starts
    samples_at_once: bool = False

    def generate(
        self,
        requests: Sequence[ChatRequest],
        on_result: OnResult | None = None,
        on_progress: OnProgress | None = None,
    ) -> list[GenerationResult]:
        """Run every request; a failing request yields a result with ``error`` set, never an
        exception. ``on_result(i, result)`` as each finishes; ``on_progress(TokenProgress)`` while
        they run, from engines that see their tokens. Not to be overridden: see ``_generate``."""
        batch = Batch(requests, on_result, on_progress)
        if batch.requests:
            self._generate(batch)
        return batch.results()

    @abstractmethod
    def _generate(self, batch: Batch) -> None:
        """The one hook: run ``batch.requests``, handing each result to ``batch.done(i, result)``
        as soon as it is finished (a failure to ``batch.fail(i, exc)``)."""

    def count_tokens(self, messages: list[Message]) -> int:
        """Tokens the chat prompt takes. Engines with a tokenizer override this; the default is a
        conservative estimate (about 3.5 characters per token for English/LaTeX)."""
        chars = sum(len(m.get("content", "")) + 16 for m in messages)
        return int(chars / 3.5) + 1

    def count_text(self, text: str) -> int:
        """Tokens ``text`` takes inside a message (the chat template's own tokens left out): what
        the grammar fitting counts a structure's fixed text with."""
        empty = self.count_tokens([{"role": "assistant", "content": ""}])
        return max(0, self.count_tokens([{"role": "assistant", "content": text}]) - empty)

    def unsupported(self, params: SamplingParams) -> list[str]:
        """Names of sampling settings this engine cannot honour (reported, not fatal)."""
        return []

    def close(self) -> None:  # noqa: B027 - optional hook, nothing to release by default
        """Release model memory / connections."""

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @abstractmethod
    def describe(self) -> dict[str, Any]:
        """A JSON-able description (engine name, model, settings) for the run store. No secrets."""


def token_reporter(
    on_progress: OnProgress | None, index: int, request: ChatRequest
) -> Callable[[int], None] | None:
    """``tokens -> None`` that sends request ``index``'s ``TokenProgress`` to ``on_progress``
    (None when nobody listens); its clock starts now."""
    if on_progress is None:
        return None
    budget = request.sampling.max_tokens * request.sampling.n
    start = time.perf_counter()

    def report(tokens: int) -> None:
        on_progress(TokenProgress(index, request.request_id, tokens, budget, time.perf_counter() - start))

    return report


R = TypeVar("R")


def run_threaded(
    work: Callable[[int], R],
    count: int,
    workers: int,
    on_done: Callable[[int, R], None],
    on_interrupt: Callable[[], None] | None = None,
) -> None:
    """Run ``work(i)`` for ``i < count`` on at most ``workers`` threads and hand each result to
    ``on_done(i, result)`` from the calling thread, as each finishes (so it may write to SQLite).

    The threads are daemons: when the caller is interrupted (Ctrl-C) or ``on_done`` raises,
    ``on_interrupt()`` is called (to cut the work in flight), nothing new starts, and the
    exception goes on at once. A ``ThreadPoolExecutor`` would instead wait, on leaving its block
    and again at interpreter exit, for a worker blocked on a server that never answers.
    ``work`` must not raise (wrap it); if it does, the error is raised here after the others end.
    """
    todo: queue.SimpleQueue[int] = queue.SimpleQueue()
    for i in range(count):
        todo.put(i)
    done: queue.SimpleQueue[tuple[int, Any, BaseException | None]] = queue.SimpleQueue()
    stop = threading.Event()

    def worker() -> None:
        while not stop.is_set():
            try:
                i = todo.get_nowait()
            except queue.Empty:
                return
            try:
                done.put((i, work(i), None))
            except BaseException as exc:  # handed to the caller, which decides
                done.put((i, None, exc))

    for _ in range(max(1, min(workers, count))):
        threading.Thread(target=worker, daemon=True, name="engine-request").start()
    failure: BaseException | None = None
    try:
        for _ in range(count):
            i, result, error = done.get()
            if error is not None:
                failure = failure or error
                continue
            on_done(i, result)
    except BaseException:
        stop.set()
        if on_interrupt is not None:
            on_interrupt()
        raise
    if failure is not None:
        raise failure
