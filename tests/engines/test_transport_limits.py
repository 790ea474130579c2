"""The HTTP engine against hostile loopback servers: one total deadline per request (a server that
trickles a byte every 2 s, or streams only ``: ping`` keep-alives, ends at the deadline with a clear
line), a bound on what one reply may be (50 MB, or 2 MB of one character, is a failure and nothing
of it is stored), and Ctrl-C: a real SIGINT to a real ``cycleresearcher review`` ends it in
seconds with exit 130, keeping the review that had finished."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from cycleresearcher.engines import ChatRequest, SamplingParams
from cycleresearcher.engines.openai_compat import OpenAIEngine, Transport, TransportError
from cycleresearcher.store import RunStore
from support import child_env
from support.hostile_server import HostileServer, completion_body, huge, pings, send_json, trickle

REVIEW = (Path(__file__).parents[1] / "data" / "web" / "review.txt").read_text()


def request(max_tokens: int = 64) -> ChatRequest:
    return ChatRequest([{"role": "user", "content": "hi"}], SamplingParams(max_tokens=max_tokens))


def timed(fn, limit: float):  # type: ignore[no-untyped-def]
    """(value or exception, seconds) of ``fn()`` run in a thread; fails if it outlives ``limit``."""
    box: dict = {}

    def run() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            box["value"] = exc

    start = time.monotonic()
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(limit)
    assert not thread.is_alive(), f"still waiting after {limit} s"
    return box["value"], time.monotonic() - start


@pytest.mark.parametrize("answer", [trickle(0.5), pings(0.3)], ids=["trickle", "pings"])
@pytest.mark.parametrize("stream", [False, True])
def test_a_request_ends_at_its_total_deadline(answer, stream):
    with HostileServer(answer) as srv:
        engine = OpenAIEngine(base_url=srv.url, timeout=3, max_retries=3, backoff=0.01, stream=stream)
        progress = (lambda _p: None) if stream else None  # streaming is asked only while someone follows
        [res], took = timed(lambda: engine.generate([request()], on_progress=progress), 30)
        engine.close()
    assert not res.ok and "no complete answer within 3 s" in res.error and "timeout=SECONDS" in res.error
    assert 2.5 <= took < 6, took  # the deadline, not a read timeout that every byte resets
    assert srv.requests == 1  # running out of time is not retried


def test_a_silent_server_ends_at_the_deadline_too():
    with HostileServer(lambda h, b: time.sleep(30)) as srv:
        t = Transport(srv.url, timeout=1.5, max_retries=2, backoff=0.01)
        err, took = timed(lambda: t.request("POST", "/chat/completions", json={}), 20)
    assert isinstance(err, TransportError) and "no complete answer within 1.5 s" in str(err)
    assert took < 4


def test_retries_share_the_deadline():
    calls = []

    def failing(handler, body):  # type: ignore[no-untyped-def]
        calls.append(time.monotonic())
        handler.send_response(503)
        handler.send_header("content-length", "0")
        handler.end_headers()

    with HostileServer(failing) as srv:
        t = Transport(srv.url, timeout=2, max_retries=100, backoff=0.5, backoff_max=0.5)
        err, took = timed(lambda: t.request("POST", "/chat/completions", json={}), 20)
    assert isinstance(err, TransportError) and "within 2 s" in str(err)
    assert took < 3.5 and 2 <= len(calls) < 10


@pytest.mark.parametrize("stream", [False, True])
def test_a_50_mb_reply_is_a_failure_read_only_up_to_the_bound(stream):
    with HostileServer(huge(50 * 2**20)) as srv:
        engine = OpenAIEngine(base_url=srv.url, max_reply_bytes=2**20, max_retries=0, stream=stream)
        [res], took = timed(lambda: engine.generate([request()], on_progress=lambda _p: None), 30)
        engine.close()
    assert not res.ok and "passed 1,048,576 bytes" in res.error and "max_reply_bytes" in res.error
    assert res.completions == []


def test_text_no_token_budget_could_make_is_refused():
    with HostileServer(huge(2 * 2**20, "a")) as srv:
        engine = OpenAIEngine(base_url=srv.url, max_retries=0, stream=False)
        [res] = engine.generate([request(max_tokens=7000)])
        [small] = engine.generate([request(max_tokens=20000)])  # 2 MB fits 20,000 tokens' bound
        engine.close()
    assert not res.ok and "2,097,152 characters" in res.error and "at most 7,000 tokens" in res.error
    assert small.ok and len(small.text) == 2 * 2**20


def _cli(args: list[str], tmp_path: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "cycleresearcher", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=child_env(COLUMNS="250"),
        # a shell's background job ignores SIGINT and its children inherit that: Ctrl-C must reach it
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


def test_a_huge_reply_is_not_stored(tmp_path):
    paper = tmp_path / "paper.md"
    paper.write_text("# A paper\n\nWe study a method carefully and report what we found.\n")
    with HostileServer(huge(50 * 2**20, "a")) as srv:
        proc = _cli(
            [
                "review",
                str(paper),
                "--base-url",
                srv.url,
                "--engine-opt",
                "max_retries=0",
                "-o",
                str(tmp_path / "out"),
            ],
            tmp_path,
        )
        out, err = proc.communicate(timeout=120)
    assert proc.returncode == 3, err
    assert "8,388,608 bytes" in " ".join(err.split())
    stored = sum(f.stat().st_size for f in (tmp_path / "out").rglob("*") if f.is_file())
    assert stored < 1_000_000, stored  # before: 260 MB (three copies of the 50 MB reply)


@pytest.mark.parametrize("slow", ["trickle", "pings"])
def test_ctrl_c_ends_review_in_seconds_keeping_what_finished(slow, tmp_path):
    """Two papers: the server answers FAST at once and hangs on the other. SIGINT while it hangs
    ends the command within seconds (before: still alive 60 s later), exit 130, and the finished
    review is in the run store."""
    hang = trickle(2.0) if slow == "trickle" else pings(1.0)
    state = {"fast_done": 0.0}

    def answer(handler, body):  # type: ignore[no-untyped-def]
        if "FAST" not in json.dumps(body):
            return hang(handler, body)
        if isinstance(body, dict) and body.get("stream"):
            handler.send_response(200)
            handler.send_header("content-type", "text/event-stream")
            handler.end_headers()
            chunk = {"choices": [{"index": 0, "delta": {"content": REVIEW}, "finish_reason": "stop"}]}
            handler.wfile.write(b"data: " + json.dumps(chunk).encode() + b"\n\ndata: [DONE]\n\n")
        else:
            send_json(handler, completion_body(REVIEW))
        state["fast_done"] = time.monotonic()

    for name, word in (("fast.md", "FAST"), ("slow.md", "SLOW")):
        (tmp_path / name).write_text(
            f"# A {word} paper\n\nWe study {word} things and report what we found.\n"
        )
    with HostileServer(answer) as srv:
        args = ["review", str(tmp_path / "fast.md"), str(tmp_path / "slow.md"), "--base-url", srv.url]
        args += ["--engine-opt", "timeout=600", "-o", str(tmp_path / "out")]
        proc = _cli(args, tmp_path)
        deadline = time.monotonic() + 60
        while not (state["fast_done"] and srv.requests >= 2) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert state["fast_done"], "the fast review was never asked for"
        time.sleep(2)  # the client stores it; the slow one is still hanging
        assert proc.poll() is None
        proc.send_signal(signal.SIGINT)
        start = time.monotonic()
        try:
            out, err = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            pytest.fail("still running 30 s after Ctrl-C")
        took = time.monotonic() - start
    assert proc.returncode == 130, err
    assert took < 5, took
    assert "Interrupted" in err
    with RunStore(tmp_path / "out", create=False) as store:
        rows = store.request_rows()
        done = [r for r in rows if r["status"] == "done"]
        assert len(done) == 1 and len(rows) == 2, rows  # the finished review kept, the other pending
        assert store.get_result(done[0]["key"]).text == REVIEW
