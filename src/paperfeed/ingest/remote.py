"""Polite HTTP for arXiv's services.

arXiv asks clients to name themselves, to leave a few seconds between requests and to back
off when told to (HTTP 503 with Retry-After). `PoliteClient` does all three, so importers
only say what to fetch. Sleeping and the clock are injectable: tests check the pauses that
were asked for without waiting for them.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import email.utils
import time
from collections.abc import Callable, Mapping
from importlib.metadata import PackageNotFoundError, version
from types import TracebackType
from typing import Self

import httpx

from paperfeed.errors import SourceUnavailable

try:
    _VERSION = version("paperfeed")
except PackageNotFoundError:  # running from a source tree that is not installed
    _VERSION = "0"

USER_AGENT = f"paperfeed/{_VERSION} (self-hosted research-paper discovery; python-httpx)"
DEFAULT_TIMEOUT = httpx.Timeout(60.0, connect=15.0)
_RETRIED_STATUS = {429, 500, 502, 503, 504}


def retry_after_seconds(response: httpx.Response) -> float | None:
    """The wait a Retry-After header asks for, given as seconds or as an HTTP date.

    A date is measured against the response's own Date header when there is one, so a
    skewed local clock does not stretch or shrink the wait."""
    value = response.headers.get("Retry-After", "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        until = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    now = dt.datetime.now(dt.UTC)
    if response.headers.get("Date"):
        with contextlib.suppress(TypeError, ValueError):
            now = email.utils.parsedate_to_datetime(response.headers["Date"])
    if until.tzinfo is None:
        until = until.replace(tzinfo=dt.UTC)
    if now.tzinfo is None:
        now = now.replace(tzinfo=dt.UTC)
    return max(0.0, (until - now).total_seconds())


class PoliteClient:
    """GET with a User-Agent, a minimum pause between requests and bounded retries.

    Overload (429, 5xx) and network failures are retried, waiting as long as Retry-After
    asks (capped at `max_wait`) or with doubling backoff; when all attempts fail the result
    is `SourceUnavailable`. Other responses, including 4xx, go back to the caller, whose
    service may explain the problem in the body.
    """

    def __init__(
        self,
        service: str,
        http: httpx.Client | None = None,
        *,
        delay: float = 3.0,
        attempts: int = 4,
        backoff: float = 5.0,
        max_wait: float = 300.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        user_agent: str = USER_AGENT,
    ) -> None:
        if attempts < 1:
            raise ValueError("attempts must be at least 1")
        self.service = service
        self._owns_http = http is None
        self.http = http or httpx.Client(timeout=DEFAULT_TIMEOUT, follow_redirects=True)
        self.delay = delay
        self.attempts = attempts
        self.backoff = backoff
        self.max_wait = max_wait
        self.sleep = sleep
        self.clock = clock
        self.user_agent = user_agent
        self._last_request: float | None = None

    def close(self) -> None:
        if self._owns_http:
            self.http.close()

    def __enter__(self) -> PoliteClient:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _wait_turn(self) -> None:
        if self._last_request is None:
            return
        remaining = self.delay - (self.clock() - self._last_request)
        if remaining > 0:
            self.sleep(remaining)

    def get(self, url: str, params: Mapping[str, str | int]) -> httpx.Response:
        problem = ""
        for attempt in range(1, self.attempts + 1):
            self._wait_turn()
            wait = self.backoff * 2 ** (attempt - 1)
            try:
                response = self.http.get(url, params=dict(params), headers={"User-Agent": self.user_agent})
            except httpx.TimeoutException:
                problem = "the request timed out"
            except httpx.TransportError as exc:
                problem = f"network error ({type(exc).__name__}: {exc})" if str(exc) else type(exc).__name__
            else:
                if response.status_code not in _RETRIED_STATUS:
                    return response
                problem = f"HTTP {response.status_code} {response.reason_phrase}".strip()
                asked = retry_after_seconds(response)
                if asked is not None:
                    wait = asked
            finally:
                self._last_request = self.clock()
            if attempt < self.attempts:
                self.sleep(min(wait, self.max_wait))
        raise SourceUnavailable(
            f"{self.service} is unavailable: {problem} on each of {self.attempts} attempts; try again later ({url})"
        )


class ClientOwner:
    """Closes its `PoliteClient` on `close()` and at the end of a `with` block."""

    http: PoliteClient

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_exc_info: object) -> None:
        self.close()
