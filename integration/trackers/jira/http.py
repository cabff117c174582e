"""One Jira REST call: atlassian-python-api underneath, TrackerErrors on top.

The library sends the request (auth, session, URL joining); everything about failure is
decided here: its own retries are switched off so `call_with_retry` and the pacer (Jira's
rate limits per endpoint and per issue, `pacing`) are the only places that wait, every call
has connect and read timeouts, and no message ever holds the API token.
"""

from __future__ import annotations

import base64
import logging
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import requests
from atlassian import Jira

from integration.observability.record import observe_session, tracker_failure
from integration.trackers.base import (
    NotFound,
    PermissionDenied,
    RateLimited,
    TrackerError,
    TrackerUnavailable,
)
from integration.trackers.jira.pacing import Pacer, endpoint, header
from integration.trackers.retry import RetryPolicy, call_with_retry

DEFAULT_RETRY = RetryPolicy()  # frozen: safe to share as a default
log = logging.getLogger("flowkeeper.jira")

CONNECT_TIMEOUT = 5.0
TRANSIENT_STATUSES = frozenset({408, 409, 425})  # Jira's own webhook retries treat these as transient


class JiraHttp:
    """Authenticated JSON calls against one Jira Cloud site, with bounded retries."""

    def __init__(
        self,
        base_url: str,
        user: str,
        api_token: str,
        *,
        timeout: float = 10.0,
        retry: RetryPolicy = DEFAULT_RETRY,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        write_interval: float = 1.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._secret = api_token
        # what the Authorization header carries: a tracker echoing the request must not leak it either
        self._basic = base64.b64encode(f"{user}:{api_token}".encode()).decode() if api_token else ""
        self.retry_policy = retry
        self._sleep = sleep
        self._wall_clock = wall_clock
        self.pacer = Pacer(clock, write_interval)
        self._jira = Jira(
            url=self.base_url,
            username=user,
            password=api_token,
            cloud=True,
            api_version="3",
            backoff_and_retry=False,
            retry_with_header=False,
        )
        # The library keeps one int timeout; requests accepts (connect, read) per call.
        self._jira.timeout = (min(CONNECT_TIMEOUT, timeout), timeout)  # type: ignore[assignment]
        observe_session("jira", self._jira._session, endpoint)  # every answer counted for /metrics, per endpoint

    def call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        retry: bool = True,
    ) -> Any:
        """The decoded JSON answer (None for 204); TrackerError after bounded retries."""
        def attempt() -> Any:
            self.take_turn(method, path)
            return self._once(method, path, params, json)

        if not retry:
            return attempt()
        return call_with_retry(attempt, self.retry_policy, lambda seconds: self.back_off(method, path, seconds))

    def take_turn(self, method: str, path: str) -> None:
        """Wait as long as Jira's limits on this endpoint (and issue) ask; a longer hold than the
        retry policy waits is a RateLimited at once, left to the job queue like a long Retry-After."""
        wait = self.pacer.wait(method, path)
        if wait > self.retry_policy.max_retry_after:
            raise RateLimited(f"Jira {method} {path}: held {wait:.0f} s more by Jira's rate limit", retry_after=wait)
        if wait > 0:
            self._sleep(wait)
        self.pacer.sent(method, path)

    def back_off(self, method: str, path: str, seconds: float) -> None:
        """A retry's wait, less the part the pacer waits before the request anyway (a 429's hold)."""
        rest = round(seconds - self.pacer.wait(method, path), 3)
        if rest > 0:
            self._sleep(rest)

    def _once(self, method: str, path: str, params: Mapping[str, Any] | None, body: Any) -> Any:
        try:
            response = self._jira.request(
                method, path, params=dict(params or {}), json=body, advanced_mode=True
            )
        except requests.Timeout as error:
            tracker_failure("jira", "timeout")
            # `from None`: the requests exception holds the prepared request, auth included.
            raise TrackerUnavailable(f"Jira {method} {path}: timed out ({type(error).__name__})") from None
        except requests.RequestException as error:
            raise TrackerUnavailable(f"Jira {method} {path}: {self._scrub(type(error).__name__)}") from None
        wait = self.pacer.answered(method, path, response.status_code, response.headers, self._wall_clock())
        if response.status_code >= 400:
            raise self._error(method, path, response, wait)
        if response.status_code == 204 or not response.content:
            return None
        return response.json()

    def _error(self, method: str, path: str, response: requests.Response, wait: float | None) -> TrackerError:
        status = response.status_code
        message = self._scrub(f"Jira {method} {path} → {status}: {_reason(response)}")
        if status == 429:
            limit = header(response.headers, "RateLimit-Reason")
            return RateLimited(f"{message} ({limit})" if limit else message, retry_after=wait, status=status)
        if status >= 500 or status in TRANSIENT_STATUSES:
            return TrackerUnavailable(message, status=status)
        if status == 401:
            return TrackerError(f"{message} (check JIRA_USER and JIRA_API_TOKEN)", status=status)
        if status == 403:
            return PermissionDenied(message, status=status)
        if status == 404:
            return NotFound(message, status=status)
        return TrackerError(message, status=status)

    def _scrub(self, text: str) -> str:
        for secret in (self._secret, self._basic):
            text = text.replace(secret, "***") if secret else text
        return text


def _reason(response: requests.Response) -> str:
    """Jira's own error text (errorMessages / errors), else the HTTP reason."""
    try:
        data = response.json()
    except ValueError:
        return response.reason or "no details"
    if not isinstance(data, Mapping):
        return response.reason or "no details"
    parts = [str(m) for m in data.get("errorMessages") or ()]
    errors = data.get("errors")
    if isinstance(errors, Mapping):
        parts.extend(f"{k}: {v}" for k, v in errors.items())
    return "; ".join(parts) or response.reason or "no details"
