"""Linear's rate-limit headers, read on every answer, and when to slow down.

Linear changed its limits twice in 2025–26, so nothing here is hard-coded but the
reserve: the client reads `X-RateLimit-Requests-*` and `X-RateLimit-Complexity-*` from
each answer and pauses before the budget runs out instead of waiting for a RATELIMITED.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


def _number(headers: Mapping[str, str], name: str) -> float | None:
    value = next((v for k, v in headers.items() if k.lower() == name.lower()), None)
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class RateBudget:
    """What Linear said was left, as of its last answer. Resets are epoch milliseconds."""

    requests_limit: float | None = None
    requests_remaining: float | None = None
    requests_reset_ms: float | None = None
    complexity_limit: float | None = None
    complexity_remaining: float | None = None
    complexity_reset_ms: float | None = None
    last_complexity: float | None = None

    @classmethod
    def from_headers(cls, headers: Mapping[str, str]) -> RateBudget:
        return cls(
            requests_limit=_number(headers, "X-RateLimit-Requests-Limit"),
            requests_remaining=_number(headers, "X-RateLimit-Requests-Remaining"),
            requests_reset_ms=_number(headers, "X-RateLimit-Requests-Reset"),
            complexity_limit=_number(headers, "X-RateLimit-Complexity-Limit"),
            complexity_remaining=_number(headers, "X-RateLimit-Complexity-Remaining"),
            complexity_reset_ms=_number(headers, "X-RateLimit-Complexity-Reset"),
            last_complexity=_number(headers, "X-Complexity"),
        )

    def seconds_until_reset(self, now_ms: float) -> float | None:
        """Seconds until the later of the two resets Linear announced, if any."""
        resets = [r for r in (self.requests_reset_ms, self.complexity_reset_ms) if r is not None]
        return max(0.0, (max(resets) - now_ms) / 1000) if resets else None


@dataclass(frozen=True, slots=True)
class Reserve:
    """Keep this share of each budget (and at least these absolutes) for webhooks and people."""

    share: float = 0.05
    min_requests: float = 5
    min_complexity: float = 20_000


def pause_needed(budget: RateBudget, next_cost: float, now_ms: float, reserve: Reserve = Reserve()) -> float:
    """Seconds to wait before the next query so that neither budget falls into the reserve.

    Zero while there is room; the time to the reset once sending would eat into the
    reserve (the caller decides whether to sleep that long or hand the work back).
    """
    floor_requests = max(reserve.min_requests, reserve.share * (budget.requests_limit or 0))
    floor_points = (
        reserve.share * budget.complexity_limit if budget.complexity_limit else reserve.min_complexity
    )
    low_requests = budget.requests_remaining is not None and budget.requests_remaining - 1 < floor_requests
    low_points = (
        budget.complexity_remaining is not None and budget.complexity_remaining - next_cost < floor_points
    )
    if not (low_requests or low_points):
        return 0.0
    return budget.seconds_until_reset(now_ms) or 1.0
