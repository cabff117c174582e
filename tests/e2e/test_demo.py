"""`flowkeeper demo` as a newcomer runs it: one command, real writes in the stub, the admin pages to look at."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.processes import flowkeeper, free_port, process

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    home = tmp_path_factory.mktemp("demo")
    port, stub_port = free_port(), free_port()
    log = home / "demo.log"
    argv = flowkeeper("demo", "--home", str(home / "var"), "--port", str(port), "--stub-port", str(stub_port))
    with process(argv, {}, log) as proc:
        deadline = time.monotonic() + 90
        while "Where to look" not in log.read_text():
            assert time.monotonic() < deadline and proc.poll() is None, log.read_text()
            time.sleep(0.2)
        time.sleep(0.2)
        yield {"admin": f"http://127.0.0.1:{port}/admin", "stub": f"http://127.0.0.1:{stub_port}",
               "printed": log.read_text()}


def test_the_demo_prints_where_to_look(demo: dict[str, str]) -> None:
    printed = demo["printed"]
    assert f"{demo['stub']}/_stub/" in printed
    for page in ("flagged", "audit", "reports"):
        assert f"{demo['admin']}/{page}" in printed
    assert "webhook: Ada moved WEB-1 to In Progress → wip-limit-per-person:comment:done" in printed


def test_real_writes_reached_the_stub_on_both_trackers(demo: dict[str, str]) -> None:
    written = {r["key"]: r for r in requests.get(f"{demo['stub']}/_stub/written", timeout=10).json()}
    labels = {key: set(r["labels"]) for key, r in written.items()}
    assert {"stalled", "escalated"} <= labels["OPS-2"] and {"stalled", "escalated"} <= labels["APP-1"]
    assert "needs-priority" in labels["OPS-4"] and "needs-priority" in labels["APP-2"]
    assert "review-stalled" in labels["OPS-10"] and "review-stalled" in labels["APP-3"]
    assert "needs-assignee" in labels["WEB-5"]
    assert "blocked-by-open" in labels["OPS-5"]  # in progress, blocked by OPS-4 still in To Do
    assert any("items in progress" in c for c in written["WEB-1"]["comments"])  # Ada over her WIP limit
    assert any("How urgent is it?" in c for c in written["APP-2"]["comments"])
    assert labels["OPS-3"] == set() and written["OPS-3"]["comments"] == []  # healthy work is left alone
    page = requests.get(f"{demo['stub']}/_stub/", timeout=10).text
    assert "review-stalled" in page and "Who can review it?" in page


def test_the_admin_pages_show_what_was_written(demo: dict[str, str]) -> None:
    session = requests.Session()
    form = session.get(f"{demo['admin']}/login", timeout=10).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', form)
    assert token is not None
    session.post(f"{demo['admin']}/login", data={"password": "demo", "csrf_token": token.group(1)},
                 timeout=10).raise_for_status()
    flagged = session.get(f"{demo['admin']}/flagged", timeout=10)
    assert flagged.status_code == 200 and "OPS-2" in flagged.text and "APP-1" in flagged.text
    audit = session.get(f"{demo['admin']}/audit", timeout=10)
    assert audit.status_code == 200 and "needs-priority" in audit.text
    reports = session.get(f"{demo['admin']}/reports", timeout=10)
    assert reports.status_code == 200


def test_a_second_run_starts_from_the_same_workspace(tmp_path: Path) -> None:
    """The scratch folder is wiped: the demo never piles onto an earlier run's database."""
    from integration.demo.sandbox import start

    home = tmp_path / "var"
    said: list[str] = []
    start(home, admin_port=None, say=said.append).stop()
    (home / "flowkeeper.sqlite").write_text("not a database")
    start(home, admin_port=None, say=said.append).stop()
    assert sum(line.startswith("sync jira: jira sync: 9 items (9 new to the mirror)") for line in said) == 2


def test_a_folder_the_demo_did_not_make_is_never_wiped(tmp_path: Path) -> None:
    from integration.demo.sandbox import SandboxError, start

    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(SandboxError, match="not empty and was not made by `flowkeeper demo`"):
        start(tmp_path, admin_port=None, say=lambda _line: None)
    assert (tmp_path / "notes.txt").read_text() == "mine"
