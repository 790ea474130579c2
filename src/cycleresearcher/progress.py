"""Progress of long generation work: tokens so far, tok/s and the time left, for a terminal, a log
or the web page.

Engines send ``TokenProgress`` events (``engines.base``); ``engines.runner.run_requests`` frames
each batch with ``begin`` / ``end`` and turns every finished request into a ``done`` event, so
engines that cannot see tokens (vLLM offline, Ray, a non-streaming server) still move the count.
A ``Tracker`` keeps one batch's numbers and gives a ``Snapshot``; a ``Reporter`` renders it:

- ``RichReporter``: one live line per batch on a terminal;
- ``LogReporter``: a plain line at least every ``interval`` seconds (30 by default) when stderr is
  not a terminal, so a piped or logged run says how far it is;
- the web job page: ``app.jobs.JobReporter`` writes the snapshot into the job record.

A reporter is handed down explicitly (``run_requests(progress=...)``) or made the ambient one for
a block with ``reporting(reporter)``, which reaches the runner through every layer (reviewers,
the researcher) without each of them passing it on.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import asdict, dataclass
from typing import Any, TextIO

from .engines.base import TokenProgress

Clock = Callable[[], float]

#: seconds between two plain log lines (at least one line this often while a batch runs)
LOG_INTERVAL_S = 30.0


@dataclass(frozen=True)
class Snapshot:
    """One batch's state: ``done`` of ``total`` requests, ``tokens`` generated in this run (stored
    results from an earlier run count as done, not as tokens), the rate and the time left."""

    stage: str
    done: int
    total: int
    tokens: int
    elapsed_s: float
    tok_s: float | None
    eta_s: float | None

    def line(self) -> str:
        """``review: 1/3 requests, 812 tokens, 21.3 tok/s, ETA 2m10s, 38s elapsed``."""
        rate = "-- tok/s" if self.tok_s is None else f"{self.tok_s:.1f} tok/s"
        eta = "ETA --" if self.eta_s is None else f"ETA {format_duration(self.eta_s)}"
        return (
            f"{self.stage}: {self.done}/{self.total} requests, {self.tokens} tokens, {rate}, {eta}, "
            f"{format_duration(self.elapsed_s)} elapsed"
        )

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        for key in ("elapsed_s", "tok_s", "eta_s"):
            if d[key] is not None:
                d[key] = round(d[key], 1)
        return d


def format_duration(seconds: float) -> str:
    s = max(0, round(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{s % 3600 // 60:02d}m"


class Tracker:
    """The numbers of one batch. ``budgets[i]`` is request i's token budget (max_tokens * n);
    ``skipped`` requests were finished by an earlier run and count as done."""

    def __init__(
        self,
        stage: str,
        budgets: Sequence[int],
        skipped: int = 0,
        clock: Clock = time.monotonic,
        exact: bool = False,
    ):
        self.stage = stage
        #: the budgets are the work itself (tokens to score), not upper bounds of a generation
        self.exact = exact
        self.budgets = list(budgets)
        self.skipped = skipped
        self.clock = clock
        self.start = clock()
        self.tokens: dict[int, int] = {}
        self.finished: set[int] = set()
        #: running sums, so an update per token costs O(1)
        self.total_tokens = 0
        self.finished_tokens = 0

    def update(self, event: TokenProgress) -> None:
        if event.index in self.finished:
            return  # the runner's done event may follow the engine's own
        tokens = max(event.tokens, 0)
        self.total_tokens += tokens - self.tokens.get(event.index, 0)
        self.tokens[event.index] = tokens
        if event.done:
            self.finished.add(event.index)
            self.finished_tokens += tokens

    def snapshot(self) -> Snapshot:
        elapsed = max(self.clock() - self.start, 0.0)
        tokens = self.total_tokens
        rate = tokens / elapsed if tokens and elapsed > 0 else None
        return Snapshot(
            self.stage,
            self.skipped + len(self.finished),
            self.skipped + len(self.budgets),
            tokens,
            elapsed,
            rate,
            None if rate is None else self.tokens_left() / rate,
        )

    def tokens_left(self) -> float:
        """Tokens still to come: a running or waiting request is expected to write as many as the
        finished ones did on average (its budget while none has finished), never less than it has."""
        mean = self.finished_tokens / len(self.finished) if self.finished and not self.exact else None
        left = 0.0
        for i, budget in enumerate(self.budgets):
            if i in self.finished:
                continue
            expected = budget if mean is None else min(budget, mean)
            left += max(expected - self.tokens.get(i, 0), 0.0)
        return left


class Reporter:
    """Receives batches (``begin`` .. ``end``) and their ``TokenProgress`` events; renders nothing.
    Subclasses render in ``changed`` / ``finished``. Thread-safe: HTTP engines report from their
    worker threads."""

    def __init__(self, clock: Clock = time.monotonic):
        self.clock = clock
        self.tracker: Tracker | None = None
        self._lock = threading.RLock()

    def begin(self, stage: str, budgets: Sequence[int], skipped: int = 0, exact: bool = False) -> None:
        with self._lock:
            self.tracker = Tracker(stage, budgets, skipped, self.clock, exact)
            self.started(self.tracker.snapshot())

    def update(self, event: TokenProgress) -> None:
        with self._lock:
            if self.tracker is not None:
                self.tracker.update(event)
                self.changed(event)

    def end(self) -> None:
        with self._lock:
            if self.tracker is not None:
                self.finished(self.tracker.snapshot())
            self.tracker = None

    def snapshot(self) -> Snapshot | None:
        with self._lock:
            return self.tracker.snapshot() if self.tracker is not None else None

    # -- hooks
    def started(self, snap: Snapshot) -> None:
        """A batch began."""

    def changed(self, event: TokenProgress) -> None:
        """An event arrived (a token, or a finished request). Called per token: take a
        ``self.tracker.snapshot()`` only when rendering."""

    def finished(self, snap: Snapshot) -> None:
        """The batch is over."""

    def close(self) -> None:
        """Stop rendering (timers, live displays)."""

    def __enter__(self) -> Reporter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class LogReporter(Reporter):
    """Plain lines for a log: one when a batch begins, then at least every ``interval`` seconds
    while it runs (a heartbeat thread writes one even when no event comes, e.g. during a long
    prefill or a non-streaming HTTP call), and one when it ends."""

    def __init__(
        self,
        stream: TextIO | None = None,
        interval: float = LOG_INTERVAL_S,
        clock: Clock = time.monotonic,
        heartbeat: bool = True,
    ):
        super().__init__(clock)
        self.stream = stream
        self.interval = interval
        self._last = float("-inf")
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._heartbeat = heartbeat

    def _write(self, snap: Snapshot) -> None:
        stream = self.stream or sys.stderr
        print(f"progress {snap.line()}", file=stream, flush=True)
        self._last = self.clock()

    def tick(self) -> None:
        """Write a line if ``interval`` has passed since the last one (the heartbeat calls this)."""
        with self._lock:
            if self.tracker is not None and self.clock() - self._last >= self.interval:
                self._write(self.tracker.snapshot())

    def started(self, snap: Snapshot) -> None:
        self._write(snap)
        if self._heartbeat and self._thread is None:
            self._thread = threading.Thread(target=self._beat, name="cr-progress-log", daemon=True)
            self._thread.start()

    def changed(self, event: TokenProgress) -> None:
        if self.tracker is not None and self.clock() - self._last >= self.interval:
            self._write(self.tracker.snapshot())

    def finished(self, snap: Snapshot) -> None:
        self._write(snap)

    def _beat(self) -> None:
        while not self._stop.wait(min(self.interval, 5.0)):
            self.tick()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=1.0)
            self._thread = None


class RichReporter(Reporter):
    """A live rich line per batch on a terminal: bar, done/total, tokens, tok/s, ETA."""

    def __init__(
        self, console: Any, description: str = "", clock: Clock = time.monotonic, refresh_s: float = 0.25
    ):
        super().__init__(clock)
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn

        self.description = description
        self.refresh_s = refresh_s
        self._shown = float("-inf")
        self.bar = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[stats]}"),
            console=console,
            transient=False,
        )
        self._task: Any = None
        self.bar.start()

    @staticmethod
    def stats(snap: Snapshot) -> str:
        rate = "--" if snap.tok_s is None else f"{snap.tok_s:.1f}"
        eta = "--" if snap.eta_s is None else format_duration(snap.eta_s)
        return f"{snap.tokens} tok · {rate} tok/s · ETA {eta} · {format_duration(snap.elapsed_s)}"

    def _show(self, snap: Snapshot) -> None:
        self.bar.update(self._task, completed=snap.done, total=snap.total, stats=self.stats(snap))
        self._shown = self.clock()

    def started(self, snap: Snapshot) -> None:
        label = f"{self.description} ({snap.stage})" if self.description else snap.stage
        self._task = self.bar.add_task(label, total=snap.total, completed=snap.done, stats=self.stats(snap))

    def changed(self, event: TokenProgress) -> None:
        if self.tracker is not None and (event.done or self.clock() - self._shown >= self.refresh_s):
            self._show(self.tracker.snapshot())  # not per token: a few times a second

    def finished(self, snap: Snapshot) -> None:
        self._show(snap)

    def close(self) -> None:
        self.bar.stop()


def for_stderr(console: Any = None, description: str = "", interval: float = LOG_INTERVAL_S) -> Reporter:
    """The reporter a command uses: a rich line on a terminal, plain log lines otherwise."""
    if console is None:
        from rich.console import Console

        console = Console(stderr=True)
    if console.is_terminal:
        return RichReporter(console, description)
    return LogReporter(console.file, interval)


_current: ContextVar[Reporter | None] = ContextVar("cycleresearcher_progress", default=None)


def current() -> Reporter | None:
    """The ambient reporter (``reporting``), or None."""
    return _current.get()


@contextmanager
def reporting(reporter: Reporter | None) -> Iterator[Reporter | None]:
    """Make ``reporter`` the one every ``run_requests`` in this block reports to; closes it after."""
    token = _current.set(reporter)
    try:
        yield reporter
    finally:
        _current.reset(token)
        if reporter is not None:
            reporter.close()
