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
from itertools import accumulate, repeat

TRIALS = 10_000
SEED = 1
HORIZON_DAYS = 3 * 365  # a trial that has not finished by then counts as "beyond the horizon"
CONFIDENCES = (50, 85, 95)
MIN_HISTORY_DAYS = 14
MIN_COMPLETED = 5
CHUNK = 256  # days drawn at a time: Python-level work per trial stays a handful of calls


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


def _rng(seed: int, key: str) -> random.Random:
    """One generator per question, so adding a team or an epic changes no other answer."""
    return random.Random(f"{seed}:{key}")


class DaySampler:
    """Draws days of the history, uniformly with replacement, from one long stream.

    Random bytes are mapped through a lookup table (`bytes.translate`, in C) and the
    bytes that would bias the draw (those past the largest multiple of the history's
    length) are dropped, so every history day is exactly equally likely; the stream is
    refilled in large blocks, so a trial costs a slice, not a call into the generator.
    Histories longer than 256 days or with 256+ items on a day use `Random.choices`.
    """

    BLOCK = 1 << 16

    def __init__(self, history: Throughput, rng: random.Random) -> None:
        self.rng, self.daily = rng, list(history.daily)
        n = len(self.daily)
        self.fast = 0 < n <= 256 and max(self.daily, default=0) < 256
        self.stream, self.pos = b"", 0
        if self.fast:
            usable = 256 - 256 % n
            self.table = bytes(self.daily[b % n] if b < usable else 0 for b in range(256))
            self.drop = bytes(range(usable, 256))

    def take(self, k: int) -> bytes | list[int]:
        """Exactly `k` days' completions."""
        if not self.fast:
            return self.rng.choices(self.daily, k=k)
        while len(self.stream) - self.pos < k:
            fresh = self.rng.randbytes(max(k, self.BLOCK)).translate(self.table, self.drop)
            self.stream, self.pos = self.stream[self.pos:] + fresh, 0
        days = self.stream[self.pos:self.pos + k]
        self.pos += k
        return days


def finish_days(history: Throughput, targets: Sequence[int], *, trials: int = TRIALS, seed: int = SEED,
                key: str = "", horizon: int = HORIZON_DAYS) -> dict[int, Finish]:
    """For each item count in `targets`, the days each trial needed; one simulation serves them all.

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
    """Items finished in the next `days` days, per trial."""
    take = DaySampler(history, _rng(seed, key)).take
    totals = sorted(sum(take(days)) if days > 0 else 0 for _ in range(trials))
    return Count(days, tuple(totals))
