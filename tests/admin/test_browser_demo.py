"""The sandbox in headless Chromium: from the Flagged page to an item's explanation and its audit entry."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from integration.demo.sandbox import ADMIN_PASSWORD, Sandbox, start
from tests.admin.browser import browser_page

pytestmark = [pytest.mark.browser, pytest.mark.e2e]


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    running = start(Path(tmp_path_factory.mktemp("demo")) / "var", say=lambda _line: None)
    try:
        yield running
    finally:
        running.stop()


@pytest.mark.parametrize(("key", "tracker"), [("OPS-2", "jira"), ("APP-1", "linear")])
def test_flagged_item_to_its_explanation_and_audit_entry(sandbox: Sandbox, key: str, tracker: str) -> None:
    admin = sandbox.admin_url
    assert admin is not None
    with browser_page() as (page, console):
        page.goto(f"{admin}/login")
        page.fill("#password", ADMIN_PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{admin}/")
        page.goto(f"{admin}/flagged")
        row = page.locator("#flagged-table tbody tr", has_text=key).first
        assert "stalled-in-progress" in row.inner_text()
        row.locator("text=explain").click()
        page.wait_for_url(f"{admin}/explain?key={key}&tracker={tracker}")
        verdict = page.locator("#verdict-stalled-in-progress")
        assert verdict.locator("h3 .mark.ok").get_attribute("aria-label") == "✅ applies"
        page.goto(f"{admin}/flagged")
        page.locator("#flagged-table tbody tr", has_text=key).first.locator("text=audit").click()
        page.wait_for_url(f"{admin}/audit?item={key}")
        comments = page.locator("#audit-table blockquote.audit-comment").all_inner_texts()
        assert any(f"{key} has been stalled for" in text for text in comments), comments  # the escalation
    assert console.errors == []
