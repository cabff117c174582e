"""Monte Carlo forecasts: exact on constant throughput, close to the closed form otherwise, reproducible."""

from __future__ import annotations

import random
from collections import Counter
from math import comb

import pytest

from integration.reports.montecarlo import (
    BLOCK_DAYS,
    HORIZON_DAYS,
    TRIALS,
    DaySampler,
    Finish,
    Throughput,
    finish_days,
    forecast,
    items_within,
)

CONSTANT = Throughput((2,) * 20)  # two items every day
LONG_CONSTANT = Throughput((3,) * 300)


@pytest.mark.parametrize("history", [CONSTANT, LONG_CONSTANT])
def test_constant_throughput_gives_the_closed_form_at_every_confidence(history: Throughput) -> None:
    per_day = history.daily[0]
    found = finish_days(history, [1, 5, 40, 41, 400])  # 400: well past the first block of days
    assert max(found[400].days) > 3 * BLOCK_DAYS
    for items, finish in found.items():
        expected = -(-items // per_day)  # ceil(items / per_day) days
        assert len(finish.days) == TRIALS
        assert (finish.at(50), finish.at(85), finish.at(95)) == (expected, expected, expected)
        assert finish.probability_within(expected) == 1.0 and finish.probability_within(expected - 1) == 0.0
    count = items_within(history, 10)
    assert set(count.items) == {10 * per_day} and count.at(85) == 10 * per_day


def test_two_valued_throughput_matches_the_binomial_probability() -> None:
    # each day 0 or 2 items, equally likely: in 4 days 2·B(4, ½) items; 6 or more with p = 5/16
    history = Throughput((0, 2) * 10)
    p_six_in_four = sum(comb(4, k) for k in (3, 4)) / 16
    finish = finish_days(history, [6])[6]
    assert finish.probability_within(4) == pytest.approx(p_six_in_four, abs=0.02)
    count = items_within(history, 4)
    assert sum(n >= 6 for n in count.items) / TRIALS == pytest.approx(p_six_in_four, abs=0.02)
    # P(≥ 2 items in 4 days) = 15/16 = 93.75 %: "at least 2" holds at 85 % confidence, not at 95 %
    assert count.at(95) == 0 and count.at(85) == 2 and count.at(50) == 4


def test_the_same_seed_gives_the_same_forecast_and_another_seed_another() -> None:
    rng = random.Random(5)
    history = Throughput(tuple(rng.choice((0, 0, 1, 2, 4)) for _ in range(30)))
    first = finish_days(history, [25, 60], seed=7)
    assert first == finish_days(history, [25, 60], seed=7)
    assert finish_days(history, [60], seed=8)[60].days != first[60].days
    assert items_within(history, 14, seed=7) == items_within(history, 14, seed=7)
    assert items_within(history, 14, seed=7, key="ENG") != items_within(history, 14, seed=7, key="OPS")


def test_nearest_rank_percentiles_of_finish_days() -> None:
    finish = Finish(3, tuple(range(1, 21)))  # 20 trials finishing on days 1..20
    assert (finish.at(50), finish.at(85), finish.at(95)) == (10, 17, 19)
    assert finish.probability_within(5) == 0.25
    beyond = Finish(3, (1, 2, HORIZON_DAYS + 1, HORIZON_DAYS + 1))
    assert beyond.at(50) == 2 and beyond.at(85) is None
    assert beyond.distribution() == ((1, 1), (2, 1))


def test_work_that_never_finishes_is_beyond_the_horizon() -> None:
    idle = Throughput((0,) * 30)
    assert finish_days(idle, [3], trials=50)[3].at(50) is None
    assert finish_days(idle, [0], trials=50)[0].at(95) == 0  # nothing to do is done now


@pytest.mark.parametrize(("days", "tolerance"), [(30, 0.03), (300, 0.05)])
def test_the_sampler_draws_every_history_day_equally_often(days: int, tolerance: float) -> None:
    history = Throughput(tuple(range(days)))
    sampler = DaySampler(history, random.Random(3))
    seen: Counter[int] = Counter()
    while sum(seen.values()) < days * 10_000:
        seen.update(sampler.take(256))
    expected = sum(seen.values()) / days
    assert set(seen) == set(range(days))
    assert max(abs(n - expected) / expected for n in seen.values()) < tolerance
    assert list(DaySampler(history, random.Random(3)).take(999)) == list(DaySampler(history, random.Random(3)).take(999))


class Words(random.Random):
    """A generator whose bytes are given: the 32-bit words the sampler reads."""

    def __init__(self, words: list[int]) -> None:
        super().__init__(0)
        self.words = words

    def randbytes(self, n: int) -> bytes:
        out, self.words = self.words[:n // 4], self.words[n // 4:]
        return b"".join(w.to_bytes(4, "little") for w in out)


def test_the_sampler_drops_the_words_that_would_favour_the_first_days() -> None:
    # 2**32 = 3 · 1,431,655,765 + 1: the last word would map to day 0 once more than to the others
    history = Throughput((10, 20, 30))
    last = 2**32 - 1
    sampler = DaySampler(history, Words([4, last, 5, last, 3, 2]))
    assert list(sampler.take(2)) == [20, 30]  # 4 % 3 = 1, the last word dropped, 5 % 3 = 2
    assert list(sampler.take(2)) == [10, 30]


def test_every_question_put_to_one_history_reads_the_same_trials() -> None:
    # "when will 12 be done" alone, and beside an epic of 30 and "how many in 20 days": the same answer
    history = Throughput((0, 1, 3, 2, 0, 5) * 5)
    alone = finish_days(history, [12], key="ENG")[12]
    together = forecast(history, [12, 30], 20, key="ENG")
    assert together.finishes[12] == alone
    assert together.count == items_within(history, 20, key="ENG")
    assert forecast(history, [12], key="OPS").finishes[12] != alone


@pytest.mark.parametrize(("daily", "reason"), [
    ((1,) * 13, "13 day(s), at least 14 needed"),
    ((0,) * 10 + (1,) * 4, "4 item(s) finished in 14 days, at least 5 needed"),
])
def test_a_short_history_says_why_it_cannot_forecast(daily: tuple[int, ...], reason: str) -> None:
    assert Throughput(daily).too_short() == f"history too short to forecast: {reason}"
    assert Throughput((1,) * 14).too_short() is None


def test_a_question_asked_again_is_answered_from_the_kept_simulation() -> None:
    history = Throughput((0, 1, 3, 2) * 10)
    first = finish_days(history, [40, 12], seed=3, key="ENG")
    again = finish_days(history, [12, 40], seed=3, key="ENG")
    assert again == first and again[40] is first[40]  # not simulated twice
    assert finish_days(history, [40], seed=4, key="ENG")[40] is not first[40]
    assert items_within(history, 9, seed=3) is items_within(history, 9, seed=3)
