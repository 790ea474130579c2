"""The engine contract: a list of chat requests in, a list of results out, in the same order.

Each engine batches as it can (vLLM: one `generate` call; llama.cpp: several sequences per decode
step, sharing prompt prefixes; HTTP: bounded concurrency). Engines call ``on_result(index, result)``
as soon as one request finishes so that the run store can persist it (a killed run loses nothing
finished) and progress bars can move. Engines that draw samples one at a time get one request per sample
from the runner (``engines.runner``; see ``Engine.samples_at_once``).

Engines that can see tokens as they are made (llama.cpp, a streaming HTTP server, HF's streamer)
also take ``on_progress`` and call it with a ``TokenProgress`` while a request runs. It is optional
both ways: an engine whose ``generate`` has no ``on_progress`` keyword still works (the runner then
reports each request when it finishes), and ``_generate_one`` engines report through
``self._report_tokens(n)``, a no-op when nobody listens.

An engine's constructor takes ``model`` (None: the engine's default) and its settings as keywords:
``load_engine`` passes ``--model`` and the checked ``--engine-opt`` values that way.
"""

from __future__ import annotations

import queue
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, TypeVar

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
            raise ValueError(f"temperature must be >= 0, got {self.temperature}")
        if not 0 < self.top_p <= 1:
            raise ValueError(f"top_p must be in (0, 1], got {self.top_p}")
        if self.max_tokens < 1:
            raise ValueError(f"max_tokens must be >= 1, got {self.max_tokens}")
        if self.n < 1:
            raise ValueError(f"n must be >= 1, got {self.n}")
        if self.repeat_penalty <= 0:
            raise ValueError(f"repeat_penalty must be > 0, got {self.repeat_penalty}")
        if self.repeat_last_n < 1:
            raise ValueError(f"repeat_last_n must be >= 1, got {self.repeat_last_n}")
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


class Engine(ABC):
    """Base class of all engines. Subclasses implement ``_generate_one`` or override ``generate``."""

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
        """Run every request; a failing request yields a result with ``error`` set, never an exception."""
        results: list[GenerationResult] = []
        for i, req in enumerate(requests):
            start = time.perf_counter()
            self._progress_sink = token_reporter(on_progress, i, req)
            try:
                res = self._generate_one(req)
            except Exception as exc:  # one bad request must not sink the batch
                res = GenerationResult(error=f"{type(exc).__name__}: {exc}")
            finally:
                self._progress_sink = None
            res.elapsed_s = res.elapsed_s or (time.perf_counter() - start)
            res.request_id = req.request_id
            results.append(res)
            if on_result is not None:
                on_result(i, res)
        return results

    def _generate_one(self, request: ChatRequest) -> GenerationResult:  # pragma: no cover - abstract-ish
        raise NotImplementedError

    _progress_sink: Callable[[int], None] | None = None

    def _report_tokens(self, tokens: int) -> None:
        """Called by ``_generate_one`` with the request's new tokens so far (all its samples)."""
        if self._progress_sink is not None:
            self._progress_sink(tokens)

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
