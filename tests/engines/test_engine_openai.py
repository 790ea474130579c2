"""The OpenAI-compatible engine: pure payload/parse functions (openai_wire), the transport that
tenacity retries against a tiny scripted HTTP server of our own on loopback, and the engine
against a real ``python -m llama_cpp.server`` running the embedded model."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from conftest import llama_server_process, start_llama_server
from cycleresearcher.engines import ChatRequest, SamplingParams
from cycleresearcher.engines.openai_compat import (
    OpenAIEngine,
    Transport,
    TransportError,
    backoff_delay,
    is_retryable_status,
)
from cycleresearcher.engines.openai_wire import (
    build_payload,
    error_message,
    normalize_base_url,
    parse_response,
    redact_url,
)
from cycleresearcher.errors import EngineError, InputError

CHAT = [
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": "Name a colour."},
    {"role": "assistant", "content": "Blue."},
    {"role": "user", "content": "Another one."},
]


# --------------------------------------------------------------------------- pure functions
def test_build_payload_maps_every_setting():
    sp = SamplingParams(
        temperature=0.4,
        top_p=0.95,
        max_tokens=77,
        stop=["\\clearpage", "clearpage"],
        n=3,
        seed=9,
        ignore_eos=True,
    )
    p = build_payload(CHAT, sp, "m")
    assert p == {
        "model": "m",
        "messages": CHAT,
        "temperature": 0.4,
        "top_p": 0.95,
        "max_tokens": 77,
        "n": 3,
        "stop": ["\\clearpage", "clearpage"],
        "seed": 9,
        "ignore_eos": True,
    }
    assert p["messages"] is not CHAT  # a copy: the caller's list is never shared with the wire


def test_build_payload_overrides_and_options():
    sp = SamplingParams(max_tokens=5, ignore_eos=True)
    p = build_payload(
        CHAT,
        sp,
        "m",
        n=1,
        seed=4,
        ignore_eos_field=None,
        max_tokens_field="max_completion_tokens",
        extra_body={"top_k": -1},
    )
    assert "ignore_eos" not in p and "stop" not in p
    assert p["n"] == 1 and p["seed"] == 4 and p["max_completion_tokens"] == 5 and "max_tokens" not in p
    assert p["top_k"] == -1
    assert "seed" not in build_payload(CHAT, SamplingParams(), "m")
    assert build_payload(CHAT, sp, "m", ignore_eos_field="skip_eos")["skip_eos"] is True


def test_parse_response_orders_choices_and_splits_usage():
    body = {
        "choices": [
            {"index": 1, "message": {"role": "assistant", "content": "bbbbbbbbb"}, "finish_reason": "length"},
            {"index": 0, "message": {"role": "assistant", "content": "a"}, "finish_reason": "stop"},
            {"index": 2, "message": {"role": "assistant", "content": None}, "finish_reason": "stop"},
        ],
        "usage": {"prompt_tokens": 12, "completion_tokens": 11},
    }
    comps, prompt = parse_response(body)
    assert prompt == 12
    assert [c.text for c in comps] == ["a", "bbbbbbbbb", ""]
    assert [c.finish_reason for c in comps] == ["stop", "length", "stop"]
    assert sum(c.completion_tokens for c in comps) == 11
    assert comps[1].completion_tokens > comps[0].completion_tokens


def test_parse_response_single_choice_and_content_parts():
    comps, prompt = parse_response(
        {
            "choices": [
                {
                    "index": 0,
                    "message": {"content": [{"type": "text", "text": "x"}, {"type": "text", "text": "y"}]},
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 3, "completion_tokens": 2},
        }
    )
    assert comps[0].text == "xy" and comps[0].completion_tokens == 2 and prompt == 3
    comps, prompt = parse_response({"choices": [{"index": 0, "text": "legacy", "finish_reason": None}]})
    assert comps[0].text == "legacy" and comps[0].completion_tokens is None and prompt is None


@pytest.mark.parametrize(
    "body",
    [{"error": {"message": "boom"}}, {"choices": []}, {"object": "list"}, ["not", "a", "dict"], "<html>"],
)
def test_parse_response_rejects_non_completions(body):
    with pytest.raises(ValueError):
        parse_response(body)


def test_error_message_shapes():
    assert error_message({"error": {"message": "too long", "code": 400}}) == "too long"
    assert error_message({"detail": "Not Found"}) == "Not Found"
    assert error_message("plain") == "plain"


def test_urls():
    assert normalize_base_url("http://h:8000") == "http://h:8000/v1"
    assert normalize_base_url("http://h:8000/") == "http://h:8000/v1"
    assert normalize_base_url("https://api.x.com/v1/") == "https://api.x.com/v1"
    assert normalize_base_url("http://h/proxy/openai") == "http://h/proxy/openai"
    with pytest.raises(InputError):
        normalize_base_url("localhost:8000")
    assert redact_url("http://user:secret@h:81/v1?key=zz") == "http://h:81/v1"


def test_retry_classification_and_backoff():
    assert all(is_retryable_status(s) for s in (408, 429, 500, 502, 503, 504))
    assert not any(is_retryable_status(s) for s in (400, 401, 403, 404, 422))
    delays = [backoff_delay(a, 1.0, 10.0) for a in range(6)]
    assert 0.5 <= delays[0] <= 1.0 and 2.0 <= delays[2] <= 4.0 and all(d <= 10.0 for d in delays)
    assert backoff_delay(0, 1.0, 10.0, retry_after="3") == 3.0
    assert backoff_delay(0, 1.0, 10.0, retry_after="120") == 10.0  # capped
    assert 0.5 <= backoff_delay(0, 1.0, 10.0, retry_after="Wed, 21 Oct 2015 07:28:00 GMT") <= 1.0


# --------------------------------------------------------------------------- a scripted server
class Scripted:
    """A loopback HTTP server whose answers come from ``handler(path, body) -> (status, json, headers)``
(``bytes`` instead of JSON are sent as they are)."""

    def __init__(self, handler: Callable[[str, Any], tuple[int, Any, dict[str, str]]]):
        self.handler = handler
        self.calls: list[tuple[str, Any, dict[str, str]]] = []
        self.lock = threading.Lock()
        self.in_flight = 0
        self.max_in_flight = 0
        outer = self

        class H(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _serve(self) -> None:
                n = int(self.headers.get("content-length") or 0)
                body = json.loads(self.rfile.read(n)) if n else None
                with outer.lock:
                    outer.calls.append((self.path, body, dict(self.headers)))
                    outer.in_flight += 1
                    outer.max_in_flight = max(outer.max_in_flight, outer.in_flight)
                try:
                    status, payload, headers = outer.handler(self.path, body)
                finally:
                    with outer.lock:
                        outer.in_flight -= 1
                data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(data)))
                    for k, v in headers.items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout test)

            do_GET = do_POST = _serve

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()

    def chat_calls(self) -> list[Any]:
        return [b for p, b, _ in self.calls if p.endswith("/chat/completions")]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def completion(text: str, n: int = 1, prompt_tokens: int = 5) -> dict[str, Any]:
    return {
        "choices": [
            {"index": k, "message": {"role": "assistant", "content": f"{text}#{k}"}, "finish_reason": "stop"}
            for k in range(n)
        ],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": 2 * n},
    }


@pytest.fixture
def scripted() -> Iterator[Callable[..., Scripted]]:
    servers: list[Scripted] = []

    def make(handler):  # type: ignore[no-untyped-def]
        s = Scripted(handler)
        servers.append(s)
        return s

    yield make
    for s in servers:
        s.close()


def test_transport_retries_5xx_and_429_then_succeeds(scripted):
    answers = [
        (503, {"error": {"message": "loading"}}, {}),
        (429, {"error": "slow down"}, {"Retry-After": "0"}),
        (200, {"ok": 1}, {}),
    ]
    srv = scripted(lambda path, body: answers.pop(0))
    t = Transport(srv.url, max_retries=3, backoff=0.01, backoff_max=0.05)
    assert t.request("POST", "/chat/completions", json={"a": 1}) == {"ok": 1}
    assert len(srv.calls) == 3


@pytest.mark.parametrize(("status", "calls"), [(408, 2), (409, 2), (429, 2), (500, 2), (503, 2), (400, 1), (401, 1), (404, 1), (422, 1)])
def test_transport_retries_what_another_attempt_may_fix(scripted, status, calls):
    answers = [(status, {"error": {"message": "first"}}, {}), (200, {"ok": 1}, {})]
    srv = scripted(lambda path, body: answers.pop(0))
    t = Transport(srv.url, max_retries=1, backoff=0.01, backoff_max=0.05)
    if calls == 2:
        assert t.request("POST", "/chat/completions", json={}) == {"ok": 1}
    else:
        with pytest.raises(TransportError, match=f"failed: HTTP {status}: first"):
            t.request("POST", "/chat/completions", json={})
    assert len(srv.calls) == calls


def test_transport_waits_the_servers_retry_after(scripted):
    answers = [(429, {"error": "slow down"}, {"Retry-After": "0.6"}), (200, {"ok": 1}, {})]
    srv = scripted(lambda path, body: answers.pop(0))
    t = Transport(srv.url, max_retries=1, backoff=0.01, backoff_max=5.0)
    start = time.perf_counter()
    assert t.request("POST", "/chat/completions", json={}) == {"ok": 1}
    assert time.perf_counter() - start >= 0.6  # our own backoff would have waited 0.01 s


def test_transport_does_not_retry_an_answer_that_is_not_json(scripted):
    srv = scripted(lambda path, body: (200, b"<html>busy</html>", {}))
    t = Transport(srv.url, max_retries=3, backoff=0.01)
    with pytest.raises(TransportError, match="did not answer JSON: '<html>busy</html>'"):
        t.request("GET", "/models")
    assert len(srv.calls) == 1


def test_transport_does_not_retry_4xx_and_reports_detail(scripted):
    srv = scripted(lambda path, body: (400, {"error": {"message": "context length exceeded"}}, {}))
    t = Transport(srv.url, max_retries=3, backoff=0.01)
    with pytest.raises(TransportError, match="HTTP 400: context length exceeded") as err:
        t.request("POST", "/chat/completions", json={})
    assert err.value.status == 400 and len(srv.calls) == 1


def test_transport_gives_up_after_max_retries(scripted):
    srv = scripted(lambda path, body: (502, {"detail": "bad gateway"}, {}))
    t = Transport(srv.url, max_retries=2, backoff=0.01)
    with pytest.raises(TransportError, match="after 3 attempts: HTTP 502: bad gateway"):
        t.request("GET", "/models")
    assert len(srv.calls) == 3


def test_transport_timeout_is_the_whole_call_and_not_retried(scripted):
    def slow(path, body):  # type: ignore[no-untyped-def]
        time.sleep(0.5)
        return 200, {"late": True}, {}

    srv = scripted(slow)
    t = Transport(srv.url, timeout=0.1, max_retries=1, backoff=0.01)
    with pytest.raises(TransportError, match=r"no complete answer within 0\.1 s.*timeout=SECONDS"):
        t.request("POST", "/chat/completions", json={})
    assert len(srv.calls) == 1  # the time is up for every attempt (tests/engines/test_transport_limits.py)


def test_transport_connection_refused_is_retried_then_fails():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    t = Transport(f"http://127.0.0.1:{port}/v1", max_retries=2, backoff=0.01)
    start = time.perf_counter()
    with pytest.raises(TransportError, match="ConnectError"):
        t.request("GET", "/models")
    assert time.perf_counter() - start < 5


def test_engine_defaults_model_sends_key_but_never_describes_it(scripted, monkeypatch):
    def handler(path, body):  # type: ignore[no-untyped-def]
        if path.endswith("/models"):
            return (
                200,
                {"object": "list", "data": [{"id": "served-a", "max_model_len": 4096}, {"id": "served-b"}]},
                {},
            )
        return 200, completion("hi"), {}

    srv = scripted(handler)
    monkeypatch.setenv("OPENAI_BASE_URL", srv.url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-very-secret")
    eng = OpenAIEngine()
    assert eng.model_id == "served-a" and eng.context_length == 4096
    [res] = eng.generate([ChatRequest(CHAT, SamplingParams(max_tokens=4))])
    assert res.ok and res.text == "hi#0" and res.prompt_tokens == 5
    path, body, headers = srv.calls[-1]
    assert body["model"] == "served-a" and body["messages"] == CHAT
    assert {k.lower(): v for k, v in headers.items()}["authorization"] == "Bearer sk-very-secret"
    assert eng.unsupported(SamplingParams(ignore_eos=True)) == []
    assert OpenAIEngine(model="m", ignore_eos_field=None).unsupported(SamplingParams(ignore_eos=True)) == [
        "ignore_eos"
    ]
    eng.context_length = 1000  # an explicit value wins over what the server lists
    assert eng.context_length == 1000
    desc = json.dumps(eng.describe())
    assert "sk-very-secret" not in desc and "served-a" in desc


def test_engine_without_url_says_what_to_do(monkeypatch):
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    with pytest.raises(InputError, match="--base-url"):
        OpenAIEngine(model="m")


def test_engine_unreachable_server_without_model_is_a_clear_error():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(EngineError, match="Is the server running"):
        OpenAIEngine(base_url=f"http://127.0.0.1:{port}", max_retries=1, backoff=0.01)


def test_engine_falls_back_to_separate_requests_when_n_is_ignored(scripted):
    srv = scripted(lambda path, body: (200, completion(f"s{body.get('seed')}", n=1), {}))
    eng = OpenAIEngine(model="m", base_url=srv.url)
    [res] = eng.generate([ChatRequest(CHAT, SamplingParams(n=3, seed=100))])
    assert res.ok and len(res.completions) == 3
    assert [c.text for c in res.completions] == ["s100#0", "s101#0", "s102#0"]
    assert [b["n"] for b in srv.chat_calls()] == [3, 1, 1]


def test_engine_uses_server_n_when_honoured(scripted):
    srv = scripted(lambda path, body: (200, completion("x", n=body["n"]), {}))
    eng = OpenAIEngine(model="m", base_url=srv.url)
    [res] = eng.generate([ChatRequest(CHAT, SamplingParams(n=4))])
    assert [c.text for c in res.completions] == ["x#0", "x#1", "x#2", "x#3"]
    assert len(srv.chat_calls()) == 1 and res.completion_tokens == 8


def test_engine_bounded_concurrency_order_and_failures(scripted):
    def handler(path, body):  # type: ignore[no-untyped-def]
        word = body["messages"][-1]["content"]
        if word == "bad":
            return 422, {"detail": "unprocessable"}, {}
        time.sleep(0.6 if word == "slow" else 0.02)
        return 200, completion(word), {}

    srv = scripted(handler)
    eng = OpenAIEngine(model="m", base_url=srv.url, max_concurrency=2, backoff=0.01)
    words = ["slow", "a", "bad", "b", "c", "d"]
    reqs = [
        ChatRequest([{"role": "user", "content": w}], SamplingParams(max_tokens=3), request_id=w)
        for w in words
    ]
    seen: list[tuple[int, str]] = []
    threads: set[str] = set()

    def on_result(i, res):  # type: ignore[no-untyped-def]
        seen.append((i, res.request_id))
        threads.add(threading.current_thread().name)

    results = eng.generate(reqs, on_result)
    assert [r.request_id for r in results] == words
    assert [r.text for r in results if r.ok] == ["slow#0", "a#0", "b#0", "c#0", "d#0"]
    assert not results[2].ok and "422" in results[2].error and "unprocessable" in results[2].error
    assert sorted(seen) == [(i, w) for i, w in enumerate(words)]
    assert seen[0][0] != 0  # results are reported as they finish, not in order
    assert threads == {threading.main_thread().name}
    assert srv.max_in_flight == 2


def test_engine_count_tokens_uses_tokenize_endpoint_when_present(scripted):
    def handler(path, body):  # type: ignore[no-untyped-def]
        if path == "/tokenize":
            return 200, {"count": 42, "max_model_len": 100}, {}
        return 404, {"detail": "Not Found"}, {}

    srv = scripted(handler)
    eng = OpenAIEngine(model="m", base_url=srv.url)
    assert eng.count_tokens(CHAT) == 42
    assert srv.calls[-1][1]["messages"] == CHAT


def test_engine_count_tokens_falls_back_to_estimate(scripted):
    srv = scripted(lambda path, body: (404, {"detail": "Not Found"}, {}))
    eng = OpenAIEngine(model="m", base_url=srv.url)
    first = eng.count_tokens(CHAT)
    calls = len(srv.calls)
    assert first > 0 and eng.count_tokens(CHAT) == first
    assert len(srv.calls) == calls  # the missing endpoint is not asked again


# --------------------------------------------------------------------------- a real llama.cpp server
@pytest.fixture(scope="module")
def llama_server(embedded_gguf: str) -> Iterator[str]:
    with llama_server_process(embedded_gguf, n_ctx=1024, alias="smol") as url:
        yield url


@pytest.mark.slow
def test_real_server_n_samples_stop_and_multiturn(llama_server):
    eng = OpenAIEngine(base_url=llama_server, backoff=0.05, max_retries=1)
    assert eng.model_id == "smol"
    count = [{"role": "user", "content": "Count from 1 to 10, separated by commas."}]
    reqs = [
        ChatRequest(count, SamplingParams(temperature=0, max_tokens=40, stop=["5"])),
        ChatRequest(CHAT, SamplingParams(temperature=0.9, max_tokens=8, n=3, seed=1)),
    ]
    stopped, multi = eng.generate(reqs)
    assert stopped.ok and multi.ok, (stopped.error, multi.error)
    assert "5" not in stopped.text and "4" in stopped.text and stopped.completions[0].finish_reason == "stop"
    assert len(multi.completions) == 3
    assert all(c.completion_tokens and c.completion_tokens <= 8 for c in multi.completions)
    assert multi.prompt_tokens and multi.prompt_tokens > 20  # the whole multi-turn chat was sent
    assert len({c.text for c in multi.completions}) > 1  # distinct seeds gave distinct samples


@pytest.mark.slow
def test_real_server_context_overflow_fails_alone(llama_server):
    eng = OpenAIEngine(base_url=llama_server, backoff=0.05, max_retries=1)
    too_long = [{"role": "user", "content": "word " * 3000}]
    ok = [{"role": "user", "content": "Say yes."}]
    results = eng.generate(
        [
            ChatRequest(ok, SamplingParams(max_tokens=3)),
            ChatRequest(too_long, SamplingParams(max_tokens=3)),
            ChatRequest(ok, SamplingParams(max_tokens=3)),
        ]
    )
    assert results[0].ok and results[2].ok
    assert not results[1].ok and "HTTP 4" in results[1].error and "context" in results[1].error.lower()


@pytest.mark.slow
def test_real_server_killed_mid_batch(embedded_gguf):
    proc, url = start_llama_server(embedded_gguf, n_ctx=512, alias="smol")
    try:
        eng = OpenAIEngine(
            base_url=url, max_concurrency=2, timeout=20, max_retries=2, backoff=0.05, backoff_max=0.2
        )
        reqs = [
            ChatRequest(
                [{"role": "user", "content": f"Write a long story about the number {i}."}],
                SamplingParams(max_tokens=40 if i < 2 else 200),
                request_id=str(i),
            )
            for i in range(8)
        ]
        finished: list[int] = []

        def on_result(i, res):  # type: ignore[no-untyped-def]
            finished.append(i)
            if len(finished) == 1 and proc.poll() is None:
                proc.kill()  # the server dies while other requests are in flight or queued

        start = time.perf_counter()
        results = eng.generate(reqs, on_result)
        elapsed = time.perf_counter() - start
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)
    assert sorted(finished) == list(range(8))
    assert [r.request_id for r in results] == [str(i) for i in range(8)]
    good = [r for r in results if r.ok]
    bad = [r for r in results if not r.ok]
    assert 1 <= len(good) < 8 and all(r.text for r in good)
    assert bad and all("failed after 3 attempts" in r.error for r in bad)
    assert elapsed < 60


# -- streaming: tokens counted as they come ---------------------------------------------------


def test_stream_chunks_add_up_to_the_plain_body():
    from cycleresearcher.engines.openai_wire import StreamAssembler, streaming

    assert streaming({"model": "m"}) == {"model": "m", "stream": True, "stream_options": {"include_usage": True}}
    chunks = StreamAssembler()
    lines = [
        ": ping",
        'data: {"choices": [{"index": 1, "delta": {"role": "assistant"}}]}',
        'data: {"choices": [{"index": 1, "delta": {"content": "B"}}]}',
        "",
        'data: {"choices": [{"index": 0, "delta": {"content": "He"}}]}',
        'data: {"choices": [{"index": 0, "delta": {"content": "llo"}, "finish_reason": "stop", "stop_reason": "."}]}',
        'data: {"choices": [{"index": 1, "delta": {}, "finish_reason": "length"}]}',
    ]
    grew = [chunks.feed(line) for line in lines]
    assert grew == [False, False, True, False, True, True, False]
    assert chunks.tokens == 3  # pieces, until the server sends its usage
    chunks.feed('data: {"choices": [], "usage": {"prompt_tokens": 9, "completion_tokens": 4}}')
    chunks.feed("data: [DONE]")
    assert chunks.done and chunks.tokens == 4
    comps, prompt_tokens = parse_response(chunks.body())
    assert [(c.text, c.finish_reason) for c in comps] == [("Hello", "stop"), ("B", "length")]
    assert prompt_tokens == 9 and chunks.body()["choices"][0]["stop_reason"] == "."
    with pytest.raises(ValueError, match="server error: overloaded"):
        StreamAssembler().feed('data: {"error": {"message": "overloaded"}}')


def test_a_server_that_ignores_stream_is_read_as_a_plain_answer(scripted):
    server = scripted(lambda path, body: (200, completion("plain"), {}))
    eng = OpenAIEngine(model="m", base_url=server.url)
    events = []
    [res] = eng.generate([ChatRequest(CHAT, SamplingParams(max_tokens=8))], on_progress=events.append)
    assert res.ok and res.text == "plain#0"
    assert server.chat_calls()[0]["stream"] is True  # it was asked for
    [plain] = eng.generate([ChatRequest(CHAT, SamplingParams(max_tokens=8))])
    assert plain.ok and "stream" not in server.chat_calls()[1]  # nobody listening: a plain call


@pytest.mark.slow
def test_real_server_streams_tokens_with_the_same_text(llama_server):
    eng = OpenAIEngine(base_url=llama_server, backoff=0.05, max_retries=1)
    count = [{"role": "user", "content": "Count from 1 to 10, separated by commas."}]
    reqs = [ChatRequest(count, SamplingParams(temperature=0, max_tokens=12), request_id="c")]
    [plain] = eng.generate(reqs)
    events = []
    [streamed] = eng.generate(reqs, on_progress=events.append)
    assert streamed.ok and streamed.text == plain.text  # greedy: streaming changes nothing
    assert len(events) >= 5 and [e.tokens for e in events] == sorted(e.tokens for e in events)
    assert events[-1].tokens == streamed.completion_tokens <= 12
    assert {(e.index, e.request_id, e.max_tokens) for e in events} == {(0, "c", 12)}
