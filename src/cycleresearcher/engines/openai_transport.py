"""One HTTP client with retries, a total deadline, a bound on reply size, and cancellation.

``Transport`` is an ``httpx.Client`` whose calls are retried by the rules of ``http_retry``
(408/409/429/5xx and connection errors; the server's ``Retry-After`` or a backoff with jitter).

httpx's timeouts are per read: a server that trickles one byte every 2 s, or streams only
``: ping`` keep-alives, never trips them. So each call here has one deadline for all its attempts
and reads (``timeout`` seconds), enforced three ways: every read waits at most the time left, the
body is read chunk by chunk with the clock checked after each, and a timer shuts the socket at the
deadline (a read blocked in the kernel wakes up). ``abort()`` does the same for every call in
flight, so Ctrl-C does not wait for a server. A reply is read at most ``max_reply_bytes`` (after
content decoding): a larger one is a failure, never a 260 MB string.
"""

from __future__ import annotations

import contextlib
import json as jsonlib
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
from tenacity import Retrying

from ..errors import EngineError
from ..http_retry import RETRY_STATUS, Retryable, backoff_delay, is_retryable_status, retrying
from .openai_wire import StreamAssembler, error_message

#: the most bytes one reply may have by default (a real review or paper is well under 1 MB)
MAX_REPLY_BYTES = 8 * 1024 * 1024


class TransportError(EngineError):
    """A call that failed for good (after retries, or a 4xx that retrying cannot fix)."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


class _Call:
    """The clock and the cancel flag of one call (all its attempts)."""

    def __init__(self, transport: Transport, method: str, path: str, cancel: threading.Event | None):
        self.transport, self.what = transport, f"{method} {path}"
        self.deadline = time.monotonic() + transport.timeout
        #: the batch's own flag (``abort(cancel)``), else the transport's
        self.cancel = cancel or transport.cancelled

    def cancelled(self) -> bool:
        return self.cancel.is_set() or self.transport.cancelled.is_set()

    def left(self) -> float:
        return self.deadline - time.monotonic()

    def check(self) -> None:
        """Raise the call's end if it was cancelled or ran out of time."""
        t = self.transport
        if self.cancelled():
            raise TransportError(f"{self.what}: cancelled (interrupted)")
        if self.left() <= 0:
            raise TransportError(
                f"{self.what}: no complete answer within {t.timeout:g} s (the whole request, retries "
                "included; the server kept the connection open without finishing). Raise the limit "
                "with --engine-opt timeout=SECONDS, or check the server."
            )


class Transport:
    """One HTTP client with retries. Thread-safe (httpx.Client is, and each call has its own
    ``tenacity.Retrying`` and clock)."""

    def __init__(
        self,
        base_url: str,
        api_key: str | None = None,
        *,
        timeout: float = 1800.0,
        connect_timeout: float = 10.0,
        max_retries: int = 5,
        backoff: float = 1.0,
        backoff_max: float = 60.0,
        max_connections: int = 8,
        max_reply_bytes: int = MAX_REPLY_BYTES,
    ):
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.base_url = base_url
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.max_retries = max_retries
        self.backoff = backoff
        self.backoff_max = backoff_max
        self.max_reply_bytes = max_reply_bytes
        #: set by ``abort()``: every call in flight ends, and no new one starts
        self.cancelled = threading.Event()
        #: the sockets being read, each with the flag that cancels its call
        self._sockets: dict[socket.socket, threading.Event] = {}
        self._lock = threading.Lock()
        self.client = httpx.Client(
            base_url=base_url,
            headers=headers,
            timeout=httpx.Timeout(timeout, connect=min(connect_timeout, timeout)),
            limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
        )

    # -- the two kinds of call
    def request(
        self,
        method: str,
        path: str,
        json: dict[str, Any] | None = None,
        retries: int | None = None,
        cancel: threading.Event | None = None,
    ) -> Any:
        """The JSON body of a successful call; ``TransportError`` once retrying cannot help, the
        deadline passed or ``cancel`` was set (``abort(cancel)``)."""
        call = _Call(self, method, path, cancel)
        return self._retrying(call, retries)(self._attempt, call, method, path, json, None)

    def stream(
        self,
        path: str,
        json: dict[str, Any],
        on_tokens: Callable[[int], None] | None = None,
        cancel: threading.Event | None = None,
    ) -> Any:
        """POST a streamed call (``openai_wire.streaming``) and return the body its chunks add up
        to, calling ``on_tokens(completion tokens so far)`` as text arrives. A server that answers
        plain JSON instead (it ignored ``stream``) is read as a plain call. Retried like ``request``;
        a retry starts the answer over."""
        call = _Call(self, "POST", path, cancel)
        return self._retrying(call, None)(
            self._attempt, call, "POST", path, json, on_tokens or (lambda _k: None)
        )

    def abort(self, cancel: threading.Event | None = None) -> None:
        """End the calls of ``cancel`` now (their sockets are shut) and let none of them start
        again (Ctrl-C during a batch); without ``cancel``, every call, for good."""
        flag = cancel or self.cancelled
        flag.set()
        with self._lock:
            for sock, owner in list(self._sockets.items()):
                if flag is self.cancelled or owner is flag:
                    _shut(sock)

    def close(self) -> None:
        self.client.close()

    # -- retries
    def _retrying(self, call: _Call, retries: int | None) -> Retrying:
        def fail(attempts: int, problem: str, status: int | None) -> TransportError:
            call.check()  # out of time or cancelled: say that, not the last attempt's symptom
            return TransportError(f"{call.what} failed after {attempts} attempts: {problem}", status)

        return retrying(
            self.max_retries if retries is None else retries,
            self.backoff,
            self.backoff_max,
            fail,
            clip=lambda delay: max(0.0, min(delay, call.left())),
            stop=lambda _delay: call.cancelled() or call.left() <= 0,
            sleep=lambda s: call.cancel.wait(s) and None,  # Ctrl-C does not sit out a backoff
        )

    # -- one attempt
    def _attempt(
        self,
        call: _Call,
        method: str,
        path: str,
        json: dict[str, Any] | None,
        on_tokens: Callable[[int], None] | None,
    ) -> Any:
        call.check()
        left = call.left()
        timeout = httpx.Timeout(left, connect=min(self.connect_timeout, left))
        try:
            with (
                self.client.stream(method, path, json=json, timeout=timeout) as resp,
                self._watched(resp, call),
            ):
                sse = "text/event-stream" in resp.headers.get("content-type", "")
                if on_tokens is not None and resp.status_code < 400 and sse:
                    return self._read_events(resp, call, path, on_tokens)
                return self._answer(resp, self._read_all(resp, call, method, path), method, path)
        except httpx.TransportError as exc:  # connect/read errors and timeouts, mid-stream too
            call.check()  # a read cut at the deadline (or by Ctrl-C) is the end, not a retry
            raise Retryable.of_error(exc) from exc

    def _watched(self, resp: httpx.Response, call: _Call):
        """A context in which the response's socket is shut at the deadline or by ``abort()``."""
        transport = self
        sock = _socket_of(resp)

        class Watch:
            def __enter__(self) -> None:
                if sock is None:
                    return
                with transport._lock:
                    transport._sockets[sock] = call.cancel
                if call.cancelled():
                    _shut(sock)
                self.timer = threading.Timer(max(0.0, call.left()), _shut, (sock,))
                self.timer.daemon = True
                self.timer.start()

            def __exit__(self, *exc: object) -> None:
                if sock is None:
                    return
                self.timer.cancel()
                with transport._lock:
                    transport._sockets.pop(sock, None)

        return Watch()

    def _chunks(self, resp: httpx.Response, call: _Call, what: str) -> Iterator[bytes]:
        """The decoded body in pieces, the clock checked after each and the size bounded."""
        size = 0
        for chunk in resp.iter_bytes():
            size += len(chunk)
            if size > self.max_reply_bytes:
                raise TransportError(
                    f"{what}: the reply passed {self.max_reply_bytes:,} bytes, the most one reply may "
                    "have; nothing of it is kept. A real review or paper is far smaller: check the "
                    "server, or raise the limit with --engine-opt max_reply_bytes=N."
                )
            call.check()
            yield chunk
        call.check()  # a body cut short by the deadline's timer is the deadline, not an answer

    def _read_all(self, resp: httpx.Response, call: _Call, method: str, path: str) -> bytes:
        return b"".join(self._chunks(resp, call, f"{method} {path}"))

    def _read_events(
        self, resp: httpx.Response, call: _Call, path: str, on_tokens: Callable[[int], None]
    ) -> Any:
        chunks = StreamAssembler()
        pending = b""
        for piece in self._chunks(resp, call, f"POST {path}"):
            pending += piece
            if b"\n" not in piece:
                continue  # a line still coming (in bytes, a trickle): nothing to split yet
            *lines, pending = pending.split(b"\n")
            for raw in lines:
                line = raw.decode("utf-8", errors="replace")
                try:
                    grew = chunks.feed(line)
                except ValueError as exc:
                    raise TransportError(
                        f"POST {path}: unexpected stream chunk ({exc}): {line[:200]!r}"
                    ) from exc
                if grew:
                    on_tokens(chunks.tokens)
                if chunks.done:
                    return chunks.body()
        if pending.strip():
            chunks.feed(pending.decode("utf-8", errors="replace"))
        return chunks.body()

    def _answer(self, resp: httpx.Response, data: bytes, method: str, path: str) -> Any:
        """The JSON body of a read response, or the error it stands for."""
        text = data.decode("utf-8", errors="replace")
        if resp.status_code < 400:
            try:
                return jsonlib.loads(text)
            except ValueError as exc:
                raise TransportError(
                    f"{method} {path}: the server did not answer JSON: {text[:200]!r}"
                ) from exc
        status = resp.status_code
        try:
            detail = error_message(jsonlib.loads(text))
        except ValueError:
            detail = text[:500]
        problem = f"HTTP {status}: {detail}"
        if not is_retryable_status(status):
            raise TransportError(f"{method} {path} failed: {problem}", status)
        raise Retryable(problem, status, resp.headers.get("retry-after"))


def _socket_of(resp: httpx.Response) -> socket.socket | None:
    """The socket a response is read from (httpcore's network stream), when it can be had."""
    stream = resp.extensions.get("network_stream")
    try:
        sock = stream.get_extra_info("socket") if stream is not None else None
    except Exception:  # another transport (a test's mock): no socket to shut
        return None
    return sock if isinstance(sock, socket.socket) else None


def _shut(sock: socket.socket) -> None:
    """Wake any thread blocked reading ``sock`` (shutdown does; close from another thread does not)."""
    with contextlib.suppress(OSError):  # already closed
        sock.shutdown(socket.SHUT_RDWR)


__all__ = [
    "MAX_REPLY_BYTES",
    "RETRY_STATUS",
    "Transport",
    "TransportError",
    "backoff_delay",
    "is_retryable_status",
]
