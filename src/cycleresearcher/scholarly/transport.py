"""One HTTP transport for the scholarly services, in the engines' way (``engines.openai_compat``):
an ``httpx.Client`` whose calls ``tenacity`` retries on 408/409/429/5xx, timeouts and dropped
connections, waiting the server's ``Retry-After`` or an exponential backoff with jitter. Added for
public services: a pace (the least time between two requests to one service, as each service asks)
and a total deadline per call, so a service that keeps answering 429 cannot stall a run."""

from __future__ import annotations

import threading
import time
from typing import Any

import httpx
from tenacity import RetryCallState, Retrying, retry_if_exception_type

from ..engines.openai_compat import backoff_delay, is_retryable_status
from ..errors import CycleResearcherError

#: services ask callers to say who they are; ``config`` appends the contact address when one is set
USER_AGENT = "cycleresearcher-enrich/0.1"


class ServiceError(CycleResearcherError, RuntimeError):
    """A scholarly service failed for good (after retries, past the deadline, or a 4xx that
    retrying cannot fix). The entry stays as it was; rerun later, or set the service's API key."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


class _Retryable(Exception):
    def __init__(self, problem: str, status: int | None = None, retry_after: str | None = None):
        super().__init__(problem)
        self.problem, self.status, self.retry_after = problem, status, retry_after


class Transport:
    """Requests to one service. ``sent`` counts the attempts that went out (the cache tests and
    the summary read it). Thread-safe; pacing holds across threads."""

    def __init__(
        self,
        name: str,
        base_url: str,
        *,
        params: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        interval: float = 0.0,
        timeout: float = 30.0,
        deadline: float = 120.0,
        max_retries: int = 4,
        backoff: float = 1.0,
        backoff_max: float = 60.0,
    ):
        self.name = name
        self.base_url = base_url.rstrip("/")
        self.params = {k: v for k, v in (params or {}).items() if v}
        self.interval = interval
        self.timeout = timeout
        self.deadline = deadline
        self.max_retries = max_retries
        self.backoff = backoff
        self.backoff_max = backoff_max
        self.sent = 0
        self._lock = threading.Lock()
        self._next_at = 0.0
        self.client = httpx.Client(
            base_url=self.base_url + "/",
            headers={"User-Agent": USER_AGENT, **(headers or {})},
            timeout=httpx.Timeout(timeout, connect=min(10.0, timeout)),
            follow_redirects=True,
        )

    def close(self) -> None:
        self.client.close()

    def get(self, path: str, params: dict[str, Any] | None = None) -> httpx.Response | None:
        """The response of a GET (2xx), ``None`` for a 404 (a negative answer worth caching)."""
        return self.call("GET", path, params=params)

    def post(self, path: str, params: dict[str, Any] | None = None, json: Any = None) -> httpx.Response | None:
        return self.call("POST", path, params=params, json=json)

    def call(
        self, method: str, path: str, params: dict[str, Any] | None = None, json: Any = None
    ) -> httpx.Response | None:
        start = time.monotonic()
        label = f"{self.name}: {method} {self.base_url}/{path.lstrip('/')}"

        def give_up(state: RetryCallState) -> Any:
            last = state.outcome.exception() if state.outcome else None
            problem, status = (last.problem, last.status) if isinstance(last, _Retryable) else (str(last), None)
            raise ServiceError(
                f"{label} failed after {state.attempt_number} attempt(s): {problem}; "
                "the entries it was for stay unfilled (rerun later: answers so far are cached)",
                status,
            ) from last

        def stop(state: RetryCallState) -> bool:
            elapsed = time.monotonic() - start
            return state.attempt_number > self.max_retries or elapsed + self._delay(state) >= self.deadline

        retrying = Retrying(
            stop=stop,
            retry=retry_if_exception_type(_Retryable),
            wait=self._delay,
            retry_error_callback=give_up,
        )
        merged = {**(params or {}), **self.params}
        return retrying(self._attempt, method, path, merged, json, start)

    def _delay(self, state: RetryCallState) -> float:
        last = state.outcome.exception() if state.outcome else None
        retry_after = last.retry_after if isinstance(last, _Retryable) else None
        return backoff_delay(state.attempt_number - 1, self.backoff, self.backoff_max, retry_after)

    def _pace(self) -> None:
        with self._lock:
            now = time.monotonic()
            wait = self._next_at - now
            self._next_at = max(now, self._next_at) + self.interval
        if wait > 0:
            time.sleep(wait)

    def _attempt(
        self, method: str, path: str, params: dict[str, Any], json: Any, start: float
    ) -> httpx.Response | None:
        self._pace()
        left = self.deadline - (time.monotonic() - start)
        if left <= 0:
            raise _Retryable(f"no time left of the {self.deadline:g} s deadline")
        timeout = httpx.Timeout(min(self.timeout, left), connect=min(10.0, self.timeout, left))
        with self._lock:
            self.sent += 1
        try:
            resp = self.client.request(method, path.lstrip("/"), params=params, json=json, timeout=timeout)
        except httpx.TransportError as exc:  # connect/read errors and timeouts
            raise _Retryable(f"{type(exc).__name__}: {str(exc) or 'no detail'}") from exc
        if resp.status_code < 400:
            return resp
        if resp.status_code == 404:
            return None
        problem = f"HTTP {resp.status_code}: {resp.text[:300]}"
        if not is_retryable_status(resp.status_code):
            hint = " (check the service's API key)" if resp.status_code in (401, 403) else ""
            raise ServiceError(f"{self.name}: {method} {path} failed: {problem}{hint}", resp.status_code)
        raise _Retryable(problem, resp.status_code, resp.headers.get("retry-after"))
