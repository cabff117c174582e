"""The admin page in real headless Chromium: log in, switch a rule to dry run, see a webhook's "would do"."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import requests

from integration.app import create_app
from integration.runner import EmbeddedRunner
from integration.services import Services
from tests.admin.browser import browser_page, output_dir
from tests.admin.helpers import JIRA_SECRET, PASSWORD, base_env, captured_jira_request, jira_payload
from tests.processes import serving
from tests.services import MakeServices
from tests.stub import Stub, jira_issue, running_stub

pytestmark = pytest.mark.browser

RULE = "started-without-assignee"
KEY = "GBL-51"


@dataclass
class Running:
    url: str
    services: Services
    stub: Stub


@pytest.fixture
def running(db_url: str, make_services: MakeServices) -> Iterator[Running]:
    """Flowkeeper live against the stub Jira: embedded queue, runner thread, real HTTP."""
    with running_stub() as stub:
        stub.seed_jira(
            jira_issue(KEY, assignee=None, summary="Checkout <script>alert('title')</script> flow")
        )
        services = make_services(
            base_env(
                db_url,
                FLOWKEEPER_DRY_RUN="0",
                JIRA_URL=stub.url,
                JIRA_USER="bot@acme.test",
                JIRA_API_TOKEN="token-browser",
            )
        )
        runner = EmbeddedRunner(services, poll_seconds=0.1)
        runner.start()
        try:
            with serving(create_app(services=services)) as url:
                yield Running(url, services, stub)
        finally:
            runner.stop()


def post_webhook(url: str) -> None:
    payload = jira_payload(KEY, "Checkout <script>alert('title')</script> flow")
    body, headers = captured_jira_request(payload, secret=JIRA_SECRET)
    response = requests.post(f"{url}/webhooks/jira", data=body, headers=headers, timeout=10)
    assert response.json()["status"] == "queued"


def test_dry_run_toggle_then_webhook_shows_would_do(running: Running, request: pytest.FixtureRequest) -> None:
    shots = output_dir(request.node.name)
    with browser_page() as (page, console):
        page.goto(f"{running.url}/admin/")
        assert page.url.startswith(f"{running.url}/admin/login")
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{running.url}/admin/")
        assert page.locator("h1").inner_text() == "Overview"
        page.screenshot(path=str(shots / "overview.png"), full_page=True)

        page.click("nav.nav >> text=Rules")
        page.click(f"button[data-rule='{RULE}'][data-action='dry_run-1']")
        row = page.locator(f"#rule-{RULE}")
        assert "dry run · override" in row.locator(".state-cell").inner_text()

        post_webhook(running.url)
        page.goto(f"{running.url}/admin/audit?rule={RULE}")
        _wait_for_rows(page, "#audit-table tr.outcome-would_do", 2)
        reasons = page.locator("#audit-table tr.outcome-would_do td.reason").all_inner_texts()
        assert all(text.startswith("rule in dry run") for text in reasons)
        page.screenshot(path=str(shots / "audit.png"), full_page=True)

        page.click("nav.nav >> text=Explain")
        page.fill("input[name=key]", KEY)
        page.click("form.filters button[type=submit]")
        verdict = page.locator(f"#verdict-{RULE}")
        assert verdict.locator("h3 .mark.ok").get_attribute("aria-label") == "✅ applies"
        assert "started-without-assignee" in verdict.locator("h3").inner_text()
        assert "dry run" in verdict.locator("h3").inner_text()
        assert (
            "<script>" in page.locator("#explained-item .item-title").inner_text()
        )  # shown as text, not run
        page.screenshot(path=str(shots / "explain.png"), full_page=True)

        page.click("nav.nav >> text=Flagged")
        assert page.locator("#flagged-table tbody tr").count() >= 1
        page.screenshot(path=str(shots / "flagged.png"), full_page=True)

        page.click("nav.nav >> text=Charts")
        assert page.locator("svg.chart").count() == 3
        page.screenshot(path=str(shots / "charts.png"), full_page=True)
        for name in ("Setup", "Failed jobs", "Held"):
            if page.locator(f"nav.nav >> text={name}").count():
                page.click(f"nav.nav >> text={name}")
        page.click("form.logout button")
        page.wait_for_url(f"{running.url}/admin/login")

    assert console.errors == []
    written = [str(w.get("json")) for w in running.stub.writes()]
    assert any("stalled" in w for w in written)  # the live rule wrote to Jira ...
    assert not any("needs-owner" in w for w in written)  # ... the rule switched to dry run did not
    for name in ("overview.png", "audit.png", "explain.png", "flagged.png", "charts.png"):
        assert (shots / name).stat().st_size > 10_000


def _wait_for_rows(page: object, selector: str, count: int, timeout: float = 15.0) -> None:
    """The runner thread processes the delivery in the background: reload until it shows."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if page.locator(selector).count() >= count:  # type: ignore[attr-defined]
            return
        time.sleep(0.3)
        page.reload()  # type: ignore[attr-defined]
    raise AssertionError(f"no {count} rows matching {selector} within {timeout} s")
