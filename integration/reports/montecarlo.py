"""Monte Carlo forecasts from daily throughput: "when will N items be done", "how many by a date".

Each trial replays the future as a run of days, each day's completions drawn at random
(with replacement) from the days of the history window, zero days included. Pure and
seeded: a history, seed and key fix every trial's days, whatever is asked of them, so a
report can be reproduced and every question put to one history ("when", "how many", each
epic's remaining work) reads the same trials. The trials run side by side as numpy arrays,
a block of days at a time (bench/report.py measures it); see the README, "Forecasts", for
the assumptions.
"""

from __future__ import annotations

import random
from bisect import bisect_right
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import numpy.typing as npt

TRIALS = 10_000
SEED = 1
HORIZON_DAYS = 3 * 365  # a trial that has not finished by then counts as "beyond the horizon"
CONFIDENCES = (50, 85, 95)
MIN_HISTORY_DAYS = 14
MIN_COMPLETED = 5
BLOCK_DAYS = 32  # days drawn for every trial at a time: how the trials are laid out in the random stream
WORD = 1 << 32  # values of one 32-bit draw
FEW_TARGETS = 8  # up to this many, counting trials past each target beats sorting each day's totals
CACHED_SIMULATIONS = 16  # the report, the page and the digest ask the same questions of the same history

Ints = npt.NDArray[np.int64]


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
    """One generator per history (its key), so adding a team or an epic changes no other answer."""
    return random.Random(f"{seed}:{key}")


class DaySampler:
    """Draws days of the history, uniformly with replacement, as arrays.

    The random words are Python's Mersenne Twister's (`randbytes`) rather than numpy's
    generators', whose mapping to integers may change between numpy releases: a report
    forecasts the same after an upgrade. 32-bit words past the largest multiple of the
    history's length are dropped, so every day is exactly as likely.
    """

    def __init__(self, history: Throughput, rng: random.Random) -> None:
        self.rng = rng
        self.daily: Ints = np.asarray(history.daily, dtype=np.int64)
        self.usable = np.uint64(WORD - WORD % len(history.daily)) if history.daily else np.uint64(0)
        self.spare = np.empty(0, dtype=np.uint32)

    def take(self, k: int) -> Ints:
        """Exactly `k` days' completions, in the order drawn."""
        n = len(self.daily)
        if not n:
            return np.zeros(k, dtype=np.int64)
        parts, have = [self.spare], len(self.spare)
        while have < k:
            words = np.frombuffer(self.rng.randbytes(4 * (k - have)), dtype="<u4")
            words = words[words < self.usable]
            parts.append(words)
            have += len(words)
        stream = np.concatenate(parts)
        self.spare = stream[k:]
        return self.daily[stream[:k] % n]


@dataclass(frozen=True)
class Forecast:
    """One simulation's answers: days to finish each item count asked, and items finished in `days` days."""

    finishes: dict[int, Finish]
    count: Count


def forecast(history: Throughput, targets: Iterable[int] = (), days: int = 0, *, trials: int = TRIALS,
             seed: int = SEED, key: str = "", horizon: int = HORIZON_DAYS) -> Forecast:
    """"When" for every item count in `targets` and "how many" in `days` days, from one run of the trials.

    The answer depends only on the arguments, so the last few are kept: a team's simulation over
    the same history, window, seed and questions is run once for the report, the page and the digest.
    """
    return _forecast(history, tuple(sorted(set(targets))), days, trials, seed, key, horizon)


def finish_days(history: Throughput, targets: Iterable[int], *, trials: int = TRIALS, seed: int = SEED,
                key: str = "", horizon: int = HORIZON_DAYS) -> dict[int, Finish]:
    """For each item count in `targets`, the days each trial needed."""
    return dict(forecast(history, targets, trials=trials, seed=seed, key=key, horizon=horizon).finishes)


def items_within(history: Throughput, days: int, *, trials: int = TRIALS, seed: int = SEED,
                 key: str = "") -> Count:
    """Items finished in the next `days` days, per trial."""
    return forecast(history, (), days, trials=trials, seed=seed, key=key).count


def clear_cache() -> None:
    """Forget kept simulations (benchmarks time the simulation itself)."""
    _forecast.cache_clear()


@lru_cache(maxsize=CACHED_SIMULATIONS)
def _forecast(history: Throughput, targets: tuple[int, ...], days: int, trials: int, seed: int, key: str,
              horizon: int) -> Forecast:
    """`forecast`, kept per distinct question.

    Every trial draws BLOCK_DAYS days at a time (trial by trial, in the stream's order), so a
    trial's days do not depend on what is asked: a block more is drawn while some trial has not
    reached the largest target (until the horizon) or the "how many" day. Answers need how many
    trials finish on each day, not which: a trial's running total only grows, so the trials done
    with N items by a day are those whose total that day is at least N, counted in each day's
    sorted totals.
    """
    wanted: Ints = np.array([t for t in targets if t > 0], dtype=np.int64)
    finished_on = np.zeros((len(wanted), horizon + 1), dtype=np.int64)  # trials done with each target, by day
    counted: Ints = np.zeros(trials, dtype=np.int64)
    if history.completed and (len(wanted) or days > 0):
        sampler, goal = DaySampler(history, _rng(seed, key)), int(wanted[-1]) if len(wanted) else 0
        totals: Ints = np.zeros(trials, dtype=np.int64)
        done_before: Ints = np.zeros(len(wanted), dtype=np.int64)
        start = 0
        while start < days or (start < horizon and bool((totals < goal).any())):
            sums = np.cumsum(sampler.take(trials * BLOCK_DAYS).reshape(trials, BLOCK_DAYS), axis=1)
            sums += totals[:, None]
            if start < days <= start + BLOCK_DAYS:
                counted = sums[:, days - start - 1].copy()
            if len(wanted):
                done = _done_by_day(sums, wanted)
                new = np.diff(done, axis=0, prepend=done_before[None, :])
                last = min(BLOCK_DAYS, horizon - start)
                finished_on[:, start + 1:start + last + 1] = new[:last].T
                done_before = done[-1]
            totals = sums[:, -1].copy()
            start += BLOCK_DAYS
    day = np.arange(horizon + 1)
    finishes = {int(t): Finish(int(t), tuple(np.repeat(day, per_day).tolist())
                               + (horizon + 1,) * (trials - int(per_day.sum())), horizon)
                for t, per_day in zip(wanted, finished_on, strict=True)}
    finishes.update({t: Finish(t, (0,) * trials, horizon) for t in targets if t <= 0})
    return Forecast(finishes, Count(days, tuple(np.sort(counted).tolist())))


def _done_by_day(sums: Ints, wanted: Ints) -> Ints:
    """For each day of the block (rows) and each target (columns, ascending): the trials whose running
    total (a row of `sums` per trial) has reached the target by the end of that day.

    A few targets are counted by comparison; for more, each day's totals are sorted and capped at the
    largest target, and the days lifted apart, so one `searchsorted` over them all counts every
    (day, target) pair.
    """
    trials, width = sums.shape
    if len(wanted) <= FEW_TARGETS:
        return (sums[:, :, None] >= wanted[None, None, :]).sum(axis=0)  # type: ignore[no-any-return]
    goal = int(wanted[-1])
    lift = np.arange(width, dtype=np.int64) * (goal + 1)
    flat = (np.sort(np.minimum(sums, goal).T, axis=1) + lift[:, None]).ravel()
    below = np.searchsorted(flat, (lift[:, None] + wanted[None, :]).ravel()).reshape(width, len(wanted))
    return trials - (below - (np.arange(width, dtype=np.int64) * trials)[:, None])  # type: ignore[no-any-return]
