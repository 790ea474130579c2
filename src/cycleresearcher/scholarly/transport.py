"""One HTTP transport for the scholarly services: an ``httpx.Client`` retried by the rules of
``http_retry`` (as the engines' transport is). Added for public services: a pace (the least time between two requests to one service, as each service asks)
and a total deadline per call, so a service that keeps answering 429 cannot stall a run."""

from __future__ import annotations

import threading
import time
from typing import Any

import httpx

from ..errors import CycleResearcherError
from ..http_retry import Retryable, is_retryable_status, retrying

#: services ask callers to say who they are; ``config`` appends the contact address when one is set
USER_AGENT = "cycleresearcher-enrich/0.1"


class ServiceError(CycleResearcherError, RuntimeError):
    """A scholarly service failed for good (after retries, past the deadline, or a 4xx that
    retrying cannot fix). The entry stays as it was; rerun later, or set the service's API key."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


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

    def post(
        self, path: str, params: dict[str, Any] | None = None, json: Any = None
    ) -> httpx.Response | None:
        return self.call("POST", path, params=params, json=json)

    def call(
        self, method: str, path: str, params: dict[str, Any] | None = None, json: Any = None
    ) -> httpx.Response | None:
        start = time.monotonic()
        label = f"{self.name}: {method} {self.base_url}/{path.lstrip('/')}"

        def fail(attempts: int, problem: str, status: int | None) -> ServiceError:
            return ServiceError(
                f"{label} failed after {attempts} attempt(s): {problem}; "
                "the entries it was for stay unfilled (rerun later: answers so far are cached)",
                status,
            )

        retry = retrying(
            self.max_retries,
            self.backoff,
            self.backoff_max,
            fail,
            stop=lambda delay: time.monotonic() - start + delay >= self.deadline,
        )
        merged = {**(params or {}), **self.params}
        return retry(self._attempt, method, path, merged, json, start)

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
            raise Retryable(f"no time left of the {self.deadline:g} s deadline")
        timeout = httpx.Timeout(min(self.timeout, left), connect=min(10.0, self.timeout, left))
        with self._lock:
            self.sent += 1
        try:
            resp = self.client.request(method, path.lstrip("/"), params=params, json=json, timeout=timeout)
        except httpx.TransportError as exc:  # connect/read errors and timeouts
            raise Retryable.of_error(exc) from exc
        if resp.status_code < 400:
            return resp
        if resp.status_code == 404:
            return None
        problem = f"HTTP {resp.status_code}: {resp.text[:300]}"
        if not is_retryable_status(resp.status_code):
            hint = " (check the service's API key)" if resp.status_code in (401, 403) else ""
            raise ServiceError(f"{self.name}: {method} {path} failed: {problem}{hint}", resp.status_code)
        raise Retryable(problem, resp.status_code, resp.headers.get("retry-after"))
