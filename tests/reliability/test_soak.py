"""Soak: 20,000 signed webhooks with duplicates and out-of-order updates through gunicorn and two workers.

At the end every unique delivery has exactly one terminal outcome (done), duplicates were
answered `duplicate` and never processed, no item got a second comment, and `/metrics`
agrees with the counts whichever gunicorn worker answers. Loopback only; bounded in time.
A quarter of the posts are first sends, the rest tracker retries of them (set
FLOWKEEPER_SOAK_DELIVERIES and FLOWKEEPER_SOAK_UNIQUE for a smaller or longer soak).
"""

from __future__ import annotations

import os
import time
from contextlib import ExitStack
from pathlib import Path

import pytest
from sqlalchemy import func, select

from integration.store.store import Store
from integration.store.tables import deliveries
from tests.reliability.metrics_text import value
from tests.reliability.soak import SOAK_RULES, seed_issues, send_all, workload
from tests.reliability.stack import start_stack, wait_for

pytestmark = pytest.mark.e2e

DELIVERIES = int(os.environ.get("FLOWKEEPER_SOAK_DELIVERIES", "20000"))
UNIQUE = int(os.environ.get("FLOWKEEPER_SOAK_UNIQUE", str(DELIVERIES // 4)))  # the rest: tracker retries
ITEMS = max(1, UNIQUE // 25)
TIME_LIMIT = float(os.environ.get("FLOWKEEPER_SOAK_SECONDS", "420"))


def test_soak_every_delivery_one_outcome_and_one_comment_per_item(tmp_path: Path) -> None:
    started = time.monotonic()
    posts = workload(DELIVERIES, ITEMS, UNIQUE)
    unique = len({p.delivery_id for p in posts})
    with ExitStack() as exits:
        stack = start_stack(tmp_path, exits, extra_env={"RULES_DIR": str(SOAK_RULES)})
        stack.stub.seed_jira(*seed_issues(ITEMS))
        stack.start_worker()
        stack.start_worker()
        sent = send_all(stack.web, posts)
        assert sent.statuses == {"200": len(posts)}, sent.statuses
        assert sent.outcomes == {"queued": unique, "duplicate": len(posts) - unique}, sent.outcomes

        store = Store.connect(stack.db_url)
        exits.callback(store.engine.dispose)
        remaining = TIME_LIMIT - (time.monotonic() - started)
        wait_for(
            lambda: store.deliveries.counts().get("done", 0) == unique,
            timeout=max(remaining, 30),
            what=f"{unique} deliveries done",
        )
        processed_at = time.monotonic()
        with store.engine.connect() as conn:
            states = dict(
                conn.execute(select(deliveries.c.state, func.count()).group_by(deliveries.c.state)).all()
            )
            attempts = conn.execute(select(func.max(deliveries.c.attempts))).scalar()
        comments = stack.stub.state()["jira_comments"]
        per_item = {key: len(comments.get(key, [])) for key in {p.key for p in posts}}
        done = lambda: value(stack.metrics(), "flowkeeper_jobs_total", tracker="jira", outcome="done")  # noqa: E731
        wait_for(lambda: done() == unique, timeout=15, what="the last jobs' figures to reach Redis")
        scrapes = [stack.metrics() for _ in range(4)]

    print(
        f"\nsoak: {len(posts)} posted ({unique} unique, {len(posts) - unique} duplicates) over {ITEMS} items "
        f"in {sent.seconds:.1f} s ({len(posts) / sent.seconds:.0f}/s); all processed after "
        f"{processed_at - started:.1f} s; states {states}; comments per item {set(per_item.values())}"
    )
    assert states == {"done": unique}, "every delivery one terminal outcome, nothing pending or failed"
    assert attempts == 1, "no delivery was processed twice"
    assert set(per_item.values()) == {1}, {k: v for k, v in per_item.items() if v != 1}
    for text in scrapes:  # whichever gunicorn worker answered, the same totals
        assert value(text, "flowkeeper_webhooks_total", tracker="jira", outcome="queued") == unique
        assert (
            value(text, "flowkeeper_webhooks_total", tracker="jira", outcome="duplicate")
            == len(posts) - unique
        )
        assert value(text, "flowkeeper_jobs_total", tracker="jira", outcome="done") == unique
        assert (
            value(text, "flowkeeper_writes_total", tracker="jira", action="comment", outcome="done") == ITEMS
        )
        assert value(text, "flowkeeper_queue_jobs", queue="flowkeeper", state="queued") == 0
    assert time.monotonic() - started < TIME_LIMIT + 60
