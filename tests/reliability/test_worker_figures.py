"""A worker sends its figures every few seconds, not after each job: none may be lost when it stops,
nor with a forked job's process, which ends with its job."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis as redis_lib
from rq import Queue

from integration.observability import record
from integration.observability.figures import COUNTERS_KEY, RedisFigures, figure_key
from integration.queue import QUEUE_NAME
from integration.settings import load_settings
from integration.worker import run_worker
from tests.foundation.helpers import MINIMAL_RULES

COUNTED = figure_key("flowkeeper_jobs_total", {"tracker": "jira", "outcome": "done"})


def count_a_job() -> str:
    """A job that counts like a delivery job does."""
    record.count("flowkeeper_jobs_total", tracker="jira", outcome="done")
    return "counted"


@pytest.fixture(autouse=True)
def fresh_figures() -> Iterator[None]:
    yield
    record.use_figures(None)


def sent(redis_url: str) -> float:
    return float(redis_lib.Redis.from_url(redis_url).hget(COUNTERS_KEY, COUNTED) or 0)


def test_a_finished_job_is_counted_with_the_next_send_not_at_once(redis_url: str) -> None:
    record.use_figures(RedisFigures(redis_lib.Redis.from_url(redis_url), flush_seconds=60))
    record.job_finished("jira", "done", 0.0)
    assert sent(redis_url) == 0  # no round trip of its own
    record.flush()
    assert sent(redis_url) == 1


@pytest.mark.parametrize("fork", [False, True], ids=["simple", "fork"])
def test_a_worker_that_stops_has_sent_every_count(db_url: str, redis_url: str, fork: bool) -> None:
    settings = load_settings({"DATABASE_URL": db_url, "REDIS_URL": redis_url, "RULES_DIR": str(MINIMAL_RULES)})
    queue = Queue(QUEUE_NAME, connection=redis_lib.Redis.from_url(redis_url))
    for _ in range(3):
        queue.enqueue(count_a_job)
    assert run_worker(settings, burst=True, fork=fork) == 0
    assert sent(redis_url) == 3


def test_sqlite_write_lock_figures_are_on_metrics(db_url: str, redis_url: str) -> None:
    """What a job reports of SQLite's write lock is shown by any web process."""
    from tests.reliability.metrics_text import value
    from tests.reliability.test_metrics import make_app, scrape

    record.use_figures(RedisFigures(redis_lib.Redis.from_url(redis_url)))
    record.write_lock(6, 1, 0.004, held=0.025)
    record.flush()
    text = scrape(make_app(db_url, redis_url))
    assert value(text, "flowkeeper_db_write_transactions_total") == 6
    assert value(text, "flowkeeper_db_write_lock_waits_total") == 1
    assert value(text, "flowkeeper_db_write_lock_wait_seconds_total") == 0.004
    assert value(text, "flowkeeper_db_write_lock_held_seconds_total") == 0.025
