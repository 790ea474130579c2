"""Progress reporting: the tracker's numbers, the log line cadence on a fake clock, and the runner
framing batches for engines that report tokens and for engines that cannot."""

from __future__ import annotations

import io
import re

from cycleresearcher.engines.base import (
    Batch,
    ChatRequest,
    Completion,
    Engine,
    GenerationResult,
    SamplingParams,
    TokenProgress,
)
from cycleresearcher.engines.runner import run_requests
from cycleresearcher.progress import LogReporter, Reporter, Tracker, format_duration, reporting


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class TickingEngine(Engine):
    """Writes ``tokens`` tokens per request, one every ``step_s`` seconds of the fake clock, and
    reports each one as llama.cpp does."""

    name = "ticking"

    def __init__(self, clock: Clock, tokens: int, step_s: float):
        self.clock, self.tokens, self.step_s = clock, tokens, step_s

    def _generate(self, batch: Batch) -> None:
        batch.each(self._one)

    def _one(self, request: ChatRequest, report) -> GenerationResult:  # type: ignore[no-untyped-def]
        for k in range(1, self.tokens + 1):
            self.clock.now += self.step_s
            if report is not None:
                report(k)
        return GenerationResult([Completion("x" * self.tokens, "stop", self.tokens)])

    def describe(self) -> dict:
        return {"engine": self.name}


class QuietEngine(Engine):
    """An engine that reports no tokens (as vLLM and Ray): only finished requests."""

    name = "quiet"

    def _generate(self, batch: Batch) -> None:
        for i in range(len(batch)):
            batch.done(i, GenerationResult([Completion("abc", "stop", 7)], elapsed_s=1.0))

    def describe(self) -> dict:
        return {"engine": self.name}


class Recorder(Reporter):
    def __init__(self, clock=None):
        super().__init__(clock or Clock())
        self.events: list[TokenProgress] = []
        self.batches: list[tuple[str, int, int]] = []

    def started(self, snap):
        self.batches.append((snap.stage, snap.total, snap.done))

    def changed(self, event):
        self.events.append(event)


def _requests(n: int, max_tokens: int = 100) -> list[ChatRequest]:
    return [
        ChatRequest([{"role": "user", "content": f"q{i}"}], SamplingParams(max_tokens=max_tokens), request_id=f"r{i}")
        for i in range(n)
    ]


def test_tracker_rate_and_time_left():
    clock = Clock()
    t = Tracker("review", [100, 100, 100], skipped=1, clock=clock)
    clock.now += 10
    t.update(TokenProgress(0, "a", 40, 100, 10.0, done=True))
    t.update(TokenProgress(1, "b", 10, 100, 2.0))
    snap = t.snapshot()
    assert (snap.done, snap.total, snap.tokens) == (2, 4, 50)
    assert snap.tok_s == 5.0
    # requests 1 and 2 are expected to write as many as request 0 did: (40 - 10) + 40 = 70 tokens
    assert snap.eta_s == 70 / 5.0
    assert re.fullmatch(r"review: 2/4 requests, 50 tokens, 5\.0 tok/s, ETA 14s, 10s elapsed", snap.line())


def test_time_left_uses_the_budget_until_a_request_finishes():
    clock = Clock()
    t = Tracker("s", [100, 50], clock=clock)
    clock.now += 4
    t.update(TokenProgress(0, None, 20, 100, 4.0))
    assert t.snapshot().eta_s == (80 + 50) / 5.0
    assert Tracker("s", [10], clock=clock).snapshot().eta_s is None  # no token yet: no rate


def test_format_duration():
    assert [format_duration(s) for s in (0.4, 59, 61, 3599, 3600 * 2 + 60 * 5)] == ["0s", "59s", "1m01s", "59m59s", "2h05m"]


def test_log_lines_come_at_the_interval_with_tokens_and_rate():
    clock = Clock()
    stream = io.StringIO()
    # 3 requests x 40 tokens, one token per second: 120 s of fake time
    engine = TickingEngine(clock, tokens=40, step_s=1.0)
    reporter = LogReporter(stream, interval=30.0, clock=clock, heartbeat=False)
    with reporting(reporter):
        results = run_requests(engine, None, "review", _requests(3))
    assert all(r.ok for r in results)
    lines = stream.getvalue().splitlines()
    # begin, every 30 s of the 120 s (at 30, 60, 90, 120), and the end
    assert len(lines) == 6, lines
    assert lines[0].startswith("progress review: 0/3 requests, 0 tokens")
    assert lines[1] == "progress review: 0/3 requests, 30 tokens, 1.0 tok/s, ETA 4m30s, 30s elapsed"  # budgets: 270 left
    assert "2/3 requests, 90 tokens, 1.0 tok/s" in lines[3]
    assert lines[-1].startswith("progress review: 3/3 requests, 120 tokens, 1.0 tok/s, ETA 0s")


def test_a_silent_engine_still_gets_a_line_per_interval():
    clock = Clock()
    stream = io.StringIO()
    reporter = LogReporter(stream, interval=30.0, clock=clock, heartbeat=False)
    reporter.begin("review", [100])
    clock.now += 29
    reporter.tick()
    assert len(stream.getvalue().splitlines()) == 1  # not yet
    clock.now += 1
    reporter.tick()  # what the heartbeat thread calls while no token comes (prefill, plain HTTP)
    assert stream.getvalue().splitlines()[-1] == "progress review: 0/1 requests, 0 tokens, -- tok/s, ETA --, 30s elapsed"


def test_token_events_reach_the_reporter_with_a_done_event_per_request():
    clock = Clock()
    rec = Recorder(clock)
    run_requests(TickingEngine(clock, tokens=3, step_s=0.5), None, "s", _requests(2, max_tokens=8), progress=rec)
    assert rec.batches == [("s", 2, 0)]
    assert [(e.index, e.tokens, e.done) for e in rec.events] == [
        (0, 1, False), (0, 2, False), (0, 3, False), (0, 3, True),
        (1, 1, False), (1, 2, False), (1, 3, False), (1, 3, True),
    ]  # fmt: skip
    assert rec.events[0].max_tokens == 8 and rec.events[0].request_id == "r0"


def test_an_engine_that_reports_no_tokens_reports_finished_requests():
    engine = QuietEngine()
    rec = Recorder()
    results = run_requests(engine, None, "s", _requests(2), progress=rec)
    assert [r.text for r in results] == ["abc", "abc"]
    assert [(e.index, e.tokens, e.done) for e in rec.events] == [(0, 7, True), (1, 7, True)]
    assert rec.snapshot() is None  # the batch was closed


def test_stored_results_count_as_done_not_as_tokens(tmp_path):
    from cycleresearcher.store import RunStore

    clock = Clock()
    reqs = _requests(3)
    with RunStore(tmp_path / "run") as store:
        run_requests(TickingEngine(clock, 2, 1.0), store, "s", reqs[:2])
        rec = Recorder(clock)
        run_requests(TickingEngine(clock, 2, 1.0), store, "s", reqs, progress=rec)
    assert rec.batches == [("s", 3, 2)]  # one request sent, two finished before
    assert [e.index for e in rec.events if e.done] == [0]


def test_a_terminal_gets_one_live_rich_line_and_a_pipe_gets_log_lines():
    from rich.console import Console

    from cycleresearcher.progress import RichReporter, for_stderr

    piped = Console(file=io.StringIO(), force_terminal=False)
    assert isinstance(for_stderr(piped), LogReporter)
    tty_file = io.StringIO()
    tty = Console(file=tty_file, force_terminal=True, width=120)
    clock = Clock()
    reporter = for_stderr(tty, "Reviewing (cyclereviewer)")
    assert isinstance(reporter, RichReporter)
    reporter.clock = clock
    with reporting(reporter):
        run_requests(TickingEngine(clock, tokens=10, step_s=0.5), None, "review", _requests(2, max_tokens=10))
    shown = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", tty_file.getvalue())
    assert "Reviewing (cyclereviewer) (review)" in shown
    assert re.search(r"2/2 20 tok · 2\.0 tok/s · ETA 0s · 10s", shown), shown[-300:]
