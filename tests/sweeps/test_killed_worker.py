"""A worker killed in the middle of a sweep: the interrupted job is retried, and no item is written twice.

Real processes (`flowkeeper worker`), real Redis, and the stub tracker over HTTP, behind a
valve that holds one write in flight — the tracker never receives it — while the worker
running it is killed with SIGKILL.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import redis as redis_lib
from rq.registry import StartedJobRegistry
from rq.scheduler import RQScheduler
from werkzeug.serving import make_server

from integration.queue import QUEUE_NAME
from integration.services import build_services, utcnow
from integration.settings import load_settings
from integration.settings_sweeps import load_sweep_settings
from integration.stubtracker.app import create_stub_app
from integration.stubtracker.site import Issue, Site
from integration.stubtracker.state import StubState
from integration.sweeps.dispatch import RqDispatch, run_inline
from integration.sweeps.sweep import Sweeper
from tests.processes import flowkeeper, process, wait_until
from tests.stub import ADA
from tests.sweeps.world import stalled_rules, write_rules

ITEMS = 8
RULES = stalled_rules("trackers: [jira]")


class Valve:
    """WSGI middleware: write number `open_writes + 1` hangs until released, then fails (503); the
    tracker never receives it. Every other request passes."""

    def __init__(self, app: Any, open_writes: int) -> None:
        self.app, self.open_writes = app, open_writes
        self.writes = 0
        self.holding = threading.Event()
        self.release = threading.Event()
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        write = environ["REQUEST_METHOD"] in ("POST", "PUT") and environ["PATH_INFO"].startswith("/rest/api/3/issue/")
        if write and not self.release.is_set():
            with self._lock:
                self.writes += 1
                hold = self.writes == self.open_writes + 1
            if hold:
                self.holding.set()
                self.release.wait(120)
                start_response("503 Service Unavailable", [("Content-Type", "application/json")])
                return [b'{"errorMessages": ["the write never reached Jira"]}']
        return self.app(environ, start_response)


@pytest.fixture
def stub() -> Iterator[tuple[str, StubState, Valve]]:
    state = StubState()
    app = create_stub_app(state)
    valve = Valve(app.wsgi_app, open_writes=5)
    app.wsgi_app = valve  # type: ignore[method-assign]
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    for n in range(1, ITEMS + 1):
        when = utcnow() - timedelta(days=30) + timedelta(minutes=n)
        issue = Issue(id=str(100 + n), key=f"ENG-{n}", team="ENG", status="In Progress", category="in_progress",
                          updated=when, created=when, assignee=ADA)
        Site(state, "jira").add(issue)
    try:
        yield f"http://127.0.0.1:{server.server_port}", state, valve
    finally:
        valve.release.set()
        server.shutdown()
        thread.join(5)


def writes_by_issue(state: StubState) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for r in state.requests:
        if r["method"] in ("POST", "PUT") and r["path"].startswith("/rest/api/3/issue/"):
            key = r["path"].split("/")[5]
            found.setdefault(key, []).append("comment" if r["path"].endswith("/comment") else "labels")
    return found


@pytest.mark.e2e
def test_a_killed_worker_leaves_its_job_to_be_retried_and_nothing_is_written_twice(
        stub: tuple[str, StubState, Valve], db_url: str, redis_url: str, tmp_path: Path) -> None:
    url, state, valve = stub
    env = {"DATABASE_URL": db_url, "REDIS_URL": redis_url, "RULES_DIR": str(write_rules(tmp_path / "rules", RULES)),
           "JIRA_URL": url, "JIRA_USER": "flowkeeper@example.com", "JIRA_API_TOKEN": "t", "FLOWKEEPER_DRY_RUN": "0",
           "FLOWKEEPER_SWEEP_PAGE_SIZE": "5", "FLOWKEEPER_BLAST_RADIUS_ITEMS": "100",
           "FLOWKEEPER_LOG_FORMAT": "text"}
    connection = redis_lib.Redis.from_url(redis_url)
    RqDispatch(connection).start("stalled", "jira", "manual", force=True)

    with process(flowkeeper("worker"), env, tmp_path / "worker-1.log") as first:
        assert valve.holding.wait(60), (tmp_path / "worker-1.log").read_text()
        os.killpg(first.pid, signal.SIGKILL)  # mid-chunk, with one write in flight
        first.wait(10)
    before = writes_by_issue(state)
    assert sum(len(w) for w in before.values()) == 5

    # RQ's maintenance finds the abandoned job and schedules its retry; the dead worker's
    # scheduler lock lapses (here: at once, instead of after a minute or two)
    # (and its item locks, which live 5 minutes: less than RQ's 10-minute maintenance interval)
    StartedJobRegistry(QUEUE_NAME, connection=connection).cleanup(timestamp=time.time() + 3600)
    connection.delete(RQScheduler.get_locking_key(QUEUE_NAME), *connection.keys("flowkeeper:lock:item:*"))
    runs = build_services(load_settings(env)).store.sweep_runs
    with process(flowkeeper("worker"), env, tmp_path / "worker-2.log"):
        wait_until(lambda: runs.recent(1) and runs.recent(1)[0].state == "done", timeout=90)
    valve.release.set()  # the write held in flight fails; the tracker never saw it

    after = writes_by_issue(state)
    assert all(sorted(w) == sorted(set(w)) for w in after.values()), after  # no write repeated on any issue
    assert len([k for k, w in after.items() if sorted(w) == ["comment", "labels"]]) == ITEMS - 1
    [run] = runs.recent(1)
    assert run.stats.get("deferred_items") == 1  # the item whose write was in flight waits, first in line

    # Once its claim is stale (10 min), the next run finishes that item: exactly once, marker checked first
    services = build_services(load_settings(env))
    sweeper = Sweeper(services, load_sweep_settings(env), clock=lambda: utcnow() + timedelta(minutes=11))
    started = sweeper.start("stalled", "jira", "manual", force=True)
    run_inline(sweeper, started.next, sleep=lambda _s: None)
    final = writes_by_issue(state)
    assert {k: sorted(w) for k, w in final.items()} == {f"ENG-{n}": ["comment", "labels"] for n in range(1, ITEMS + 1)}
    assert all(len(state.jira_comments[f"ENG-{n}"]) == 1 for n in range(1, ITEMS + 1))
