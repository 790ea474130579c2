"""The retry rules both HTTP transports share (``engines.openai_transport``, ``scholarly.transport``):
408/409/429/5xx and dropped connections get another attempt, after the server's ``Retry-After`` or
an exponential backoff with jitter."""

from __future__ import annotations

import random
from collections.abc import Callable

import httpx
from tenacity import RetryCallState, Retrying, retry_if_exception_type

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


class Retryable(Exception):
    """One failed attempt that another may fix (a dropped connection, 429, 5xx)."""

    def __init__(self, problem: str, status: int | None = None, retry_after: str | None = None):
        super().__init__(problem)
        self.problem, self.status, self.retry_after = problem, status, retry_after

    @classmethod
    def of_error(cls, exc: httpx.TransportError) -> Retryable:  # connect/read errors, timeouts
        return cls(f"{type(exc).__name__}: {str(exc) or 'no detail'}")


def retrying(
    retries: int,
    backoff: float,
    backoff_max: float,
    fail: Callable[[int, str, int | None], Exception],
    *,
    clip: Callable[[float], float] = lambda delay: delay,
    stop: Callable[[float], bool] = lambda _delay: False,
    sleep: Callable[[float], None] | None = None,
) -> Retrying:
    """Up to ``1 + retries`` attempts, retrying only ``Retryable``, the waits passed through
    ``clip``; ``stop(next wait)`` ends early (a deadline). Then ``fail(attempts, problem, status)``
    is raised from the last failure."""
    delays: dict[int, float] = {}  # one draw per attempt, whichever of stop and wait asks first

    def wait(state: RetryCallState) -> float:
        n, last = state.attempt_number, _last(state)
        if n not in delays:
            delays[n] = clip(backoff_delay(n - 1, backoff, backoff_max, getattr(last, "retry_after", None)))
        return delays[n]

    def give_up(state: RetryCallState) -> None:
        last = _last(state)
        problem, status = (last.problem, last.status) if isinstance(last, Retryable) else (str(last), None)
        raise fail(state.attempt_number, problem, status) from last

    return Retrying(
        stop=lambda state: state.attempt_number > retries or stop(wait(state)),
        retry=retry_if_exception_type(Retryable),
        wait=wait,
        retry_error_callback=give_up,
        **({"sleep": sleep} if sleep else {}),
    )


def _last(state: RetryCallState) -> BaseException | None:
    return state.outcome.exception() if state.outcome else None
