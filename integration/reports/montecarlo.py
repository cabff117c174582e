"""Monte Carlo forecasts from daily throughput: "when will N items be done", "how many by a date".

Each trial replays the future as a run of days, each day's completions drawn at random
(with replacement) from the days of the history window, zero days included. Pure and
seeded: the same history, question and seed give the same answer, so a report can be
reproduced. The standard library's generator is fast enough for 10,000 trials
(bench/report.py measures it); see the README, "Forecasts", for the assumptions.
"""

from __future__ import annotations

import random
from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache, partial
from itertools import accumulate, repeat
from operator import is_not
from typing import cast

TRIALS = 10_000
SEED = 1
HORIZON_DAYS = 3 * 365  # a trial that has not finished by then counts as "beyond the horizon"
CONFIDENCES = (50, 85, 95)
MIN_HISTORY_DAYS = 14
MIN_COMPLETED = 5
CHUNK = 256  # days drawn at a time: Python-level work per trial stays a handful of calls
WIDE = 1 << 16  # values of one 16-bit draw
CACHED_SIMULATIONS = 16  # the report, the page and the digest ask the same questions of the same history


@dataclass(frozen=True)
class Throughput:
    """Items completed on each whole day of the history window, oldest first."""

    daily: tuple[int, ...]

    @property
    def days(self) -> int:
        return len(self.daily)

    @property
    def completed(self) -> int:
        return sum(self.daily)

    def too_short(self) -> str | None:
        """Why this history cannot carry a forecast, or None when it can."""
        if self.days < MIN_HISTORY_DAYS:
            return f"history too short to forecast: {self.days} day(s), at least {MIN_HISTORY_DAYS} needed"
        if self.completed < MIN_COMPLETED:
            return (f"history too short to forecast: {self.completed} item(s) finished in {self.days} days, "
                    f"at least {MIN_COMPLETED} needed")
        return None


@dataclass(frozen=True)
class Finish:
    """Days each trial took to finish `items` (1 = done within the first day), sorted."""

    items: int
    days: tuple[int, ...]  # HORIZON_DAYS + 1 stands for "not within the horizon"
    horizon: int = HORIZON_DAYS

    def at(self, confidence: int) -> int | None:
        """Days within which `confidence` % of trials finished (nearest rank); None beyond the horizon."""
        value = self.days[(confidence * len(self.days) + 99) // 100 - 1]
        return None if value > self.horizon else value

    def probability_within(self, days: int) -> float:
        """Share of trials that finished within `days` days."""
        return bisect_right(self.days, days) / len(self.days)

    def distribution(self) -> tuple[tuple[int, int], ...]:
        """(days, trials) for every day from the first to the last finish inside the horizon."""
        counts = Counter(d for d in self.days if d <= self.horizon)
        if not counts:
            return ()
        return tuple((d, counts.get(d, 0)) for d in range(min(counts), max(counts) + 1))


@dataclass(frozen=True)
class Count:
    """Items each trial finished in `days` days, sorted."""

    days: int
    items: tuple[int, ...]

    def at(self, confidence: int) -> int:
        """At least this many items in `confidence` % of trials (nearest rank from the top)."""
        return self.items[((100 - confidence) * len(self.items)) // 100]

    def distribution(self) -> tuple[tuple[int, int], ...]:
        counts = Counter(self.items)
        return tuple((n, counts.get(n, 0)) for n in range(min(counts), max(counts) + 1))


_KEEP = partial(is_not, None)  # a 16-bit draw past the largest multiple of the history's length


def _rng(seed: int, key: str) -> random.Random:
    """One generator per question, so adding a team or an epic changes no other answer."""
    return random.Random(f"{seed}:{key}")


class DaySampler:
    """Draws days of the history, uniformly with replacement, from one long stream.

    Random bytes are mapped through a lookup table (`bytes.translate`, in C) and the
    bytes that would bias the draw (those past the largest multiple of the history's
    length) are dropped, so every history day is exactly equally likely; the stream is
    refilled in large blocks, so a trial costs a slice, not a call into the generator.
    Histories longer than 256 days or with 256+ items on a day do the same with 16-bit
    draws through a list (`map` over a `memoryview`, also in C).
    """

    BLOCK = 1 << 16

    def __init__(self, history: Throughput, rng: random.Random) -> None:
        self.rng, self.daily = rng, list(history.daily)
        n = len(self.daily)
        self.fast = 0 < n <= 256 and max(self.daily, default=0) < 256
        self.stream: bytes | list[int] = b"" if self.fast else []
        self.pos = 0
        if self.fast:
            usable = 256 - 256 % n
            self.table = bytes(self.daily[b % n] if b < usable else 0 for b in range(256))
            self.drop = bytes(range(usable, 256))
        elif n:
            usable = WIDE - WIDE % n
            self.wide = [self.daily[v % n] if v < usable else None for v in range(WIDE)]

    def _refill(self, k: int) -> None:
        if self.fast:
            fresh: bytes | list[int] = self.rng.randbytes(max(k, self.BLOCK)).translate(self.table, self.drop)
        else:
            draws = memoryview(self.rng.randbytes(2 * max(k, self.BLOCK))).cast("H")
            fresh = cast(list[int], list(filter(_KEEP, map(self.wide.__getitem__, draws))))
        self.stream, self.pos = self.stream[self.pos:] + fresh, 0  # type: ignore[operator]

    def take(self, k: int) -> bytes | list[int]:
        """Exactly `k` days' completions."""
        if not self.daily:
            return [0] * k
        while len(self.stream) - self.pos < k:
            self._refill(k)
        days = self.stream[self.pos:self.pos + k]
        self.pos += k
        return days


def finish_days(history: Throughput, targets: Sequence[int], *, trials: int = TRIALS, seed: int = SEED,
                key: str = "", horizon: int = HORIZON_DAYS) -> dict[int, Finish]:
    """For each item count in `targets`, the days each trial needed; one simulation serves them all.

    The answer depends only on the arguments, so the last few are kept: a team's simulation over
    the same history, window, seed and targets is run once for the report, the page and the digest.
    """
    return dict(_finish_days(history, tuple(sorted(set(targets))), trials, seed, key, horizon))


def clear_cache() -> None:
    """Forget kept simulations (benchmarks time the simulation itself)."""
    _finish_days.cache_clear()
    _items_within.cache_clear()


@lru_cache(maxsize=CACHED_SIMULATIONS)
def _finish_days(history: Throughput, targets: tuple[int, ...], trials: int, seed: int, key: str,
                 horizon: int) -> dict[int, Finish]:
    """`finish_days`, kept per distinct question.

    A trial draws enough days to reach the largest target most of the time, sums them
    once (`accumulate`) and finds every target's crossing day by bisection, all in C;
    the rare trial that falls short draws on (`_carry_on`).
    """
    wanted = sorted({t for t in targets if t > 0})
    mean = history.completed / max(1, history.days)
    rows: list[list[int]] = []
    if wanted and mean > 0:
        take = DaySampler(history, _rng(seed, key)).take
        span = min(CHUNK, int(wanted[-1] / mean * 1.3) + 16)
        for _ in range(trials):
            sums = list(accumulate(take(span), initial=0))
            days = list(map(bisect_left, repeat(sums, len(wanted)), wanted))
            rows.append(days if days[-1] <= span else _carry_on(take, wanted, days, sums, mean, horizon))
    columns = list(zip(*rows, strict=True)) if rows else [(horizon + 1,) * trials for _ in wanted]
    out = {t: Finish(t, tuple(sorted(days)), horizon)
           for t, days in zip(wanted, columns, strict=True)}
    out.update({t: Finish(t, (0,) * trials, horizon) for t in targets if t <= 0})
    return out


def _carry_on(take: Callable[[int], Sequence[int]], wanted: list[int], days: list[int], sums: list[int],
              mean: float, horizon: int) -> list[int]:
    """A trial short of some targets after its first days draws on until it reaches them (or the horizon)."""
    day, total = len(sums) - 1, sums[-1]
    k = next(n for n, d in enumerate(days) if d > day)
    while k < len(wanted) and day < horizon:
        chunk = min(CHUNK, int((wanted[-1] - total) / mean * 1.3) + 16)
        more = list(accumulate(take(chunk), initial=total))
        while k < len(wanted) and more[-1] >= wanted[k]:
            days[k] = min(day + bisect_left(more, wanted[k]), horizon + 1)
            k += 1
        day, total = day + chunk, more[-1]
    for n in range(k, len(wanted)):
        days[n] = horizon + 1
    return days


def items_within(history: Throughput, days: int, *, trials: int = TRIALS, seed: int = SEED,
                 key: str = "") -> Count:
    """Items finished in the next `days` days, per trial (kept like `finish_days`)."""
    return _items_within(history, days, trials, seed, key)


@lru_cache(maxsize=CACHED_SIMULATIONS)
def _items_within(history: Throughput, days: int, trials: int, seed: int, key: str) -> Count:
    take = DaySampler(history, _rng(seed, key)).take
    totals = sorted(sum(take(days)) if days > 0 else 0 for _ in range(trials))
    return Count(days, tuple(totals))
