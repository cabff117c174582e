"""One way to send a GraphQL operation to Linear: gql over requests, budget-aware.

Every call goes through `execute`: it loads the operation from its `.graphql` file,
refuses a query over Linear's per-query complexity cap, pauses when the rate-limit
headers of the last answer say the budget is nearly spent, retries 5xx and timeouts with
backoff and jitter, and turns Linear's errors into the TrackerError family (a
RATELIMITED 400 is a rate limit, not a failure). Messages never contain the API key.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

import requests
from gql import Client, GraphQLRequest
from gql.transport.exceptions import (
    TransportConnectionFailed,
    TransportError,
    TransportQueryError,
    TransportServerError,
)
from gql.transport.requests import RequestsHTTPTransport

from integration.observability.record import tracker_failure, tracker_response
from integration.trackers.base import (
    NotFound,
    PermissionDenied,
    RateLimited,
    TrackerError,
    TrackerUnavailable,
)
from integration.trackers.linear.complexity import MAX_QUERY_COMPLEXITY, estimate
from integration.trackers.linear.ops import document
from integration.trackers.linear.ratelimit import RateBudget, Reserve, pause_needed
from integration.trackers.retry import RetryPolicy, call_with_retry

_NOT_FOUND_CODES = {"ENTITY_NOT_FOUND", "NOT_FOUND"}
_FORBIDDEN_CODES = {"FORBIDDEN", "AUTHENTICATION_ERROR", "UNAUTHENTICATED"}


class LinearGateway:
    """Sends operations by name; keeps the last rate-limit budget and what was spent."""

    def __init__(
        self,
        api_url: str,
        api_key: str,
        *,
        timeout: float = 10.0,
        retry: RetryPolicy = RetryPolicy(),
        sleep: Callable[[float], None] = time.sleep,
        clock_ms: Callable[[], float] | None = None,
        max_pause: float = 60.0,
        reserve: Reserve = Reserve(),
    ) -> None:
        self._api_key = api_key
        # gql annotates timeout as int but hands it to requests, which takes seconds as a float.
        self._transport = RequestsHTTPTransport(
            url=api_url,
            headers={"Authorization": api_key},
            timeout=timeout,  # type: ignore[arg-type]
            retries=0,
        )
        self._client = Client(transport=self._transport, fetch_schema_from_transport=False)
        self._session: Any = None
        self._retry, self._sleep, self._max_pause, self._reserve = retry, sleep, max_pause, reserve
        self._clock_ms = clock_ms or (lambda: time.time() * 1000)
        self._last_status: int | None = None
        self.budget = RateBudget()
        self.requests_sent = 0
        self.complexity_estimated = 0.0

    def execute(self, name: str, variables: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Run operation `name` with `variables`; the answer's `data`."""
        variables = dict(variables or {})
        cost = estimate(document(name), variables)
        if cost > MAX_QUERY_COMPLEXITY:
            raise TrackerError(
                f"Linear query {name} would cost {cost:.0f} points (cap {MAX_QUERY_COMPLEXITY})"
            )
        request = GraphQLRequest(document(name), variable_values=variables, operation_name=name)
        return call_with_retry(lambda: self._once(request, cost), self._retry, self._sleep)

    def close(self) -> None:
        if self._session is not None:
            self._client.close_sync()
            self._session = None

    # ---- one attempt --------------------------------------------------------------

    def _connect(self) -> Any:
        if self._session is None:
            self._session = self._client.connect_sync()
            assert self._transport.session is not None
            self._transport.session.hooks["response"].append(self._observe)
        return self._session

    def _observe(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        """Every answer, even an error page, updates the status and the budget."""
        self._last_status = response.status_code
        tracker_response("linear", response.status_code, response.headers, response.elapsed.total_seconds())
        if any(k.lower().startswith("x-ratelimit") or k.lower() == "x-complexity" for k in response.headers):
            self.budget = RateBudget.from_headers(response.headers)

    def _throttle(self, cost: float) -> None:
        wait = pause_needed(self.budget, cost, self._clock_ms(), self._reserve)
        if wait > self._max_pause:
            raise RateLimited(f"Linear budget nearly spent; resets in {wait:.0f} s", retry_after=wait)
        if wait > 0:
            self._sleep(wait)

    def _once(self, request: GraphQLRequest, cost: float) -> dict[str, Any]:
        session = self._connect()
        self._throttle(cost)
        self._last_status = None
        self.requests_sent += 1
        self.complexity_estimated += cost
        try:
            result = session.execute(request, get_execution_result=True)
        except TransportQueryError as error:
            raise self._query_error(error.errors or [], str(error)) from None
        except TransportServerError as error:
            raise self._http_error(error.code) from None
        except TransportConnectionFailed as error:
            tracker_failure("linear", "connection_error")
            raise TrackerUnavailable(f"Linear did not answer ({self._clean(str(error))})") from None
        except TransportError as error:
            raise self._http_error(self._last_status, self._clean(str(error))) from None
        return dict(result.data or {})

    def _clean(self, text: str) -> str:
        return text.replace(self._api_key, "***") if self._api_key else text

    def _http_error(self, status: int | None, detail: str = "") -> TrackerError:
        if status is not None and status >= 500:
            return TrackerUnavailable(f"Linear answered HTTP {status}", status=status)
        if status in (401, 403):
            return PermissionDenied(
                f"Linear refused the API key (HTTP {status}); check LINEAR_API_KEY", status=status
            )
        return TrackerError(f"Linear answered HTTP {status}: {detail[:200]}".rstrip(": "), status=status)

    def _query_error(self, errors: list[Any], fallback: str) -> TrackerError:
        first = errors[0] if errors and isinstance(errors[0], Mapping) else {}
        extensions = first.get("extensions") or {}
        codes = {
            str((e.get("extensions") or {}).get("code", "")).upper() for e in errors if isinstance(e, Mapping)
        }
        message = self._clean(
            str(extensions.get("userPresentableMessage") or first.get("message") or fallback)
        )
        status = self._last_status
        if "RATELIMITED" in codes:
            wait = self.budget.seconds_until_reset(self._clock_ms())
            return RateLimited(f"Linear rate limit reached: {message}", retry_after=wait, status=status)
        if status is not None and status >= 500:
            return TrackerUnavailable(f"Linear failed (HTTP {status}): {message}", status=status)
        if codes & _FORBIDDEN_CODES or str(extensions.get("type", "")).lower() == "forbidden":
            return PermissionDenied(f"Linear refused: {message}", status=status)
        if codes & _NOT_FOUND_CODES or message.lower().startswith("entity not found"):
            return NotFound(f"Linear: {message}", status=status)
        return TrackerError(f"Linear GraphQL error: {message}", status=status)
