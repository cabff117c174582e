"""What the rest of Flowkeeper calls to be observed: one short call per fact.

Each call counts into this process's figures (Redis-backed when REDIS_URL is set, so a
worker on another machine is still seen by `/metrics`) and, for decisions, writes one
structured log line with tracker, item, rule, delivery and outcome. Nothing here may
raise into the caller: a metric that cannot be counted is dropped, never a write.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

from integration.observability.figures import Figures, MemoryFigures, figure_key

if TYPE_CHECKING:
    from integration.store.audit import AuditEntry

log = logging.getLogger("flowkeeper.decisions")
metrics_log = logging.getLogger("flowkeeper.metrics")

JOB_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
LAG_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 1800.0, 3600.0)

_figures: Figures | None = None
_guard = threading.Lock()


def figures() -> Figures:
    """This process's figures: in memory until its start chose otherwise (`bind_figures`, `use_figures`)."""
    global _figures
    if _figures is None:
        with _guard:
            if _figures is None:
                _figures = MemoryFigures()
    return _figures


def use_figures(chosen: Figures | None) -> None:
    """Let a process (or a test) say where its figures go; None goes back to memory."""
    global _figures
    with _guard:
        previous, _figures = _figures, chosen
    if previous is not None and previous is not chosen:
        _safely(previous.close)


def _safely(action: Any) -> None:
    try:
        action()
    except Exception:
        metrics_log.debug("metrics.record_failed", exc_info=True)


def count(name: str, amount: float = 1.0, **labels: str) -> None:
    _safely(lambda: figures().add(_key_of(name, labels), amount))


def _key_of(name: str, labels: Mapping[str, str]) -> str:
    try:
        return _key(name, tuple(labels.items()))
    except TypeError:  # a label value that cannot be a cache key: made each time
        return figure_key(name, labels)


@functools.lru_cache(maxsize=4096)
def _key(name: str, labels: tuple[tuple[str, str], ...]) -> str:
    """A figure's key, made once per name and labels: every job counts the same few figures."""
    return figure_key(name, dict(labels))


@functools.lru_cache(maxsize=1024)
def _histogram_keys(name: str, labels: tuple[tuple[str, str], ...],
                    buckets: tuple[float, ...]) -> tuple[tuple[tuple[float, str], ...], str, str, str]:
    """A histogram's keys, made once: (bucket bound, its key) each, then `+Inf`, `_sum` and `_count`."""
    bounds = tuple((bound, figure_key(f"{name}_bucket", {**dict(labels), "le": repr(float(bound))}))
                   for bound in buckets)
    return (bounds, figure_key(f"{name}_bucket", {**dict(labels), "le": "+Inf"}),
            _key(f"{name}_sum", labels), _key(f"{name}_count", labels))


def gauge(name: str, value: float, **labels: str) -> None:
    _safely(lambda: figures().set(figure_key(name, labels), value))


def observe(name: str, value: float, buckets: Sequence[float] = JOB_BUCKETS, **labels: str) -> None:
    """A histogram sample kept as cumulative bucket counters, `_sum` and `_count`."""

    def add() -> None:
        target = figures()
        bounds, infinite, total, samples = _histogram_keys(name, tuple(labels.items()), tuple(buckets))
        for bound, key in bounds:
            if value <= bound:
                target.add(key)
        target.add(infinite)
        target.add(total, value)
        target.add(samples)

    _safely(add)


def flush() -> None:
    _safely(lambda: figures().flush())


# ---- the facts Flowkeeper reports -------------------------------------------------


def job_finished(tracker: str, outcome: str, started: float, occurred_at: datetime | None = None) -> None:
    """A delivery's job ended (`done`, `duplicate`, `retry`, `failed`).

    Sent with the process's other figures within `FLUSH_SECONDS`, not once per job (a busy
    worker's counts are sent in one round trip every two seconds); a worker sends what it
    still holds when it stops, and a forked job's process before it ends (`integration.worker`).
    """
    count("flowkeeper_jobs_total", tracker=tracker, outcome=outcome)
    observe("flowkeeper_job_seconds", time.perf_counter() - started, tracker=tracker)
    if occurred_at is not None and outcome == "done":
        lag = (datetime.now(UTC) - occurred_at).total_seconds()
        if lag >= 0:
            observe("flowkeeper_event_lag_seconds", lag, LAG_BUCKETS, tracker=tracker)


def write_lock(transactions: int, waited: int, seconds: float, held: float = 0.0) -> None:
    """SQLite write transactions, those whose BEGIN waited for another process's write lock, the
    seconds waited, and the seconds they held it (`integration.store.db.WRITE_LOCK`): what keeps
    workers from running side by side."""
    if transactions:
        count("flowkeeper_db_write_transactions_total", transactions)
    if waited:
        count("flowkeeper_db_write_lock_waits_total", waited)
    if seconds:
        count("flowkeeper_db_write_lock_wait_seconds_total", seconds)
    if held:
        count("flowkeeper_db_write_lock_held_seconds_total", held)


H = TypeVar("H", bound=Callable[..., str])


def observed_job(retried: tuple[type[BaseException], ...]) -> Callable[[H], H]:
    """Wrap `Pipeline.handle(event)`: count each delivery job by outcome and time it.

    The caller names the exceptions that mean "retried later" (the executor's `RetryLater`),
    so observing a job needs nothing of the code it observes.
    """

    def decorate(handle: H) -> H:
        @functools.wraps(handle)
        def wrapped(self: Any, event: Any, *args: Any, **kwargs: Any) -> str:
            started, tracker = time.perf_counter(), event.tracker.value
            try:
                outcome = handle(self, event, *args, **kwargs)
            except Exception as error:
                job_finished(tracker, "retry" if isinstance(error, retried) else "error", started)
                raise
            kind = "duplicate" if outcome.startswith("duplicate") else "done"
            job_finished(tracker, kind, started, event.occurred_at if kind == "done" else None)
            return outcome

        return wrapped  # type: ignore[return-value]

    return decorate


def decisions(entries: Iterable[AuditEntry]) -> None:
    """Every executor decision: one log line each, write outcomes and rule hits counted."""
    fired: set[tuple[str, str]] = set()
    for entry in entries:
        outcome = entry.outcome.value
        log.info(
            "decision.%s",
            outcome,
            extra={
                "tracker": entry.tracker,
                "item": entry.item_key,
                "rule": entry.rule,
                "action": entry.action,
                "outcome": outcome,
                "delivery": entry.delivery_id,
                "reason": entry.reason[:500],
            },
        )
        count("flowkeeper_writes_total", tracker=entry.tracker, action=entry.action, outcome=outcome)
        if entry.rule:
            fired.add((entry.tracker, entry.rule))
    for tracker, rule in fired:
        count("flowkeeper_rule_hits_total", tracker=tracker, rule=rule)


def tracker_response(
    tracker: str, status: int, headers: Mapping[str, str], seconds: float | None = None,
    endpoint: str | None = None,
) -> None:
    """One answer from a tracker's API: its class, how long it took, and the rate limit it reports,
    for the `endpoint` that limit covers (Jira's burst budget is per method and route)."""
    remaining = _remaining(tracker, headers)
    outcome = _call_outcome(status, remaining)
    count("flowkeeper_tracker_calls_total", tracker=tracker, outcome=outcome)
    if seconds is not None:
        observe("flowkeeper_tracker_call_seconds", seconds, tracker=tracker)
    if not remaining:
        return
    scope = _endpoint_label(tracker, endpoint)
    for kind, value in remaining.items():
        gauge("flowkeeper_tracker_rate_limit_remaining", value, tracker=tracker, kind=kind, endpoint=scope)
        gauge(
            "flowkeeper_tracker_rate_limit_observed_timestamp_seconds",
            time.time(),
            tracker=tracker,
            kind=kind,
            endpoint=scope,
        )


MAX_ENDPOINTS = 32  # rate-limit series per tracker; the routes Flowkeeper calls are fewer, the rest are `other`
_ONE_ENDPOINT = {"linear": "graphql"}  # Linear's budget is the API key's, over its one endpoint
_endpoints: dict[str, set[str]] = {}


def _endpoint_label(tracker: str, endpoint: str | None) -> str:
    """The endpoint as a label value, with a bounded number of values per tracker."""
    if endpoint is None:
        return _ONE_ENDPOINT.get(tracker, "other")
    seen = _endpoints.setdefault(tracker, set())
    if endpoint not in seen:
        if len(seen) >= MAX_ENDPOINTS:
            return "other"
        seen.add(endpoint)
    return endpoint


def tracker_failure(tracker: str, outcome: str) -> None:
    """A call that got no answer at all (`timeout`, `connection_error`)."""
    count("flowkeeper_tracker_calls_total", tracker=tracker, outcome=outcome)


def observe_session(tracker: str, session: Any, endpoint: Callable[[str, str], str] | None = None) -> None:
    """Count every answer a `requests.Session` receives (hook), without touching the call sites;
    `endpoint(method, path)` names the scope of the rate limit an answer reports."""

    def hook(response: Any, *args: Any, **kwargs: Any) -> None:
        elapsed = getattr(response, "elapsed", None)
        request = getattr(response, "request", None)
        tracker_response(
            tracker,
            response.status_code,
            response.headers,
            elapsed.total_seconds() if elapsed is not None else None,
            endpoint(request.method, urlsplit(request.url).path) if endpoint and request is not None else None,
        )

    _safely(lambda: session.hooks["response"].append(hook))


_REMAINING_HEADERS = {
    "requests": ("X-RateLimit-Requests-Remaining", "X-RateLimit-Remaining"),
    "complexity": ("X-RateLimit-Complexity-Remaining",),
}


def _remaining(tracker: str, headers: Mapping[str, str]) -> dict[str, float]:
    found: dict[str, float] = {}
    for kind, names in _REMAINING_HEADERS.items():
        for name in names:
            raw = headers.get(name)
            if raw is None:
                continue
            try:
                found[kind] = float(raw)
            except ValueError:
                continue
            break
    return found


def _call_outcome(status: int, remaining: Mapping[str, float]) -> str:
    if status == 429 or (status == 400 and remaining.get("requests") == 0):
        return "rate_limited"
    if status >= 500:
        return "server_error"
    if status >= 400:
        return "client_error"
    return "ok"
