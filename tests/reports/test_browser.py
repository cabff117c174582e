"""The Reports page in headless Chromium: every section's charts render, no console errors, screenshots kept.

Debian's Chromium driven by Playwright (its own browser download does not work here);
missing Chromium or Playwright skips locally and fails in CI. Screenshots go to
test-output/reports/ (kept by CI, ignored by git).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from integration.reports.report import SECTIONS
from integration.store.store import Store
from tests.admin.browser import CHROMIUM_FLAGS, chromium_path
from tests.conftest import unavailable
from tests.processes import serving
from tests.reports.builder import Builder, day
from tests.reports.pageapp import PASSWORD, report_app

pytestmark = pytest.mark.browser

OUTPUT = Path(__file__).resolve().parents[2] / "test-output" / "reports"


@contextmanager
def chromium() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("Playwright (pip install playwright)")
    executable = chromium_path()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        try:
            yield browser.new_context(viewport={"width": 1360, "height": 1000}).new_page()
        finally:
            browser.close()


def _team(store: Store) -> None:
    """Enough history that every section has rows: finished, waiting, flagged and roadmap work."""
    b = Builder(store)
    b.item("EPIC-1", 0, type="Epic", due=day(30))
    for n in range(12):
        b.item(f"ENG-{n}", n % 4, [(1 + n % 4, "In Progress"), (2 + n % 5, "In Review"), (4 + n, "Done")],
               assignee=("ann", "bob", "cy")[n % 3], estimate=3, project="Checkout", parent="EPIC-1")
    for n in range(5):
        item = b.item(f"ENG-W{n}", 1, [(2 + n, "In Progress")], assignee="ann", title=f"<b>Waiting</b> {n}")
        b.episode(item, "stalled", 8 + n)
        b.action(item, "stalled", 8 + n, "add_labels", labels=("stalled",))
    b.item("MOB-1", 0, [(1, "In Progress"), (6, "Done")], team="MOB", tracker="linear", project="App")
    b.item("MOB-2", 0, [(3, "In Progress")], team="MOB", tracker="linear", project="App")


def test_every_section_renders_its_charts_without_console_errors(store: Store, db_url: str) -> None:
    _team(store)
    errors: list[str] = []
    OUTPUT.mkdir(parents=True, exist_ok=True)
    with report_app(db_url, day(21)) as app, serving(app) as base, chromium() as page:
        page.on("console", lambda msg: msg.type == "error" and errors.append(f"{page.url}: {msg.text}"))
        page.on("pageerror", lambda error: errors.append(f"{page.url}: {error}"))
        page.goto(f"{base}/admin/login")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.goto(f"{base}/admin/reports?period=30d")
        page.click("nav.nav >> text=Reports")  # reached through the admin navigation
        for section in SECTIONS:
            page.click(f"nav.report-tabs a[href*='section={section}']")
            page.wait_for_selector(".report-chart svg.chart")
            charts = page.locator(".report-chart svg.chart")
            marks = page.locator(".report-chart svg :is(rect.bar, polyline.series, circle.dot, polygon.band)")
            assert charts.count() >= 1 and marks.count() >= 1, section
            assert page.locator(".report-chart svg").first.bounding_box()["width"] > 300
            page.screenshot(path=str(OUTPUT / f"reports-{section}.png"), full_page=True)
            if section == "aging":  # tracker titles are shown as text, never as markup
                assert page.locator(".report-table td", has_text="<b>Waiting</b> 0").count() == 1
                assert page.locator(".report-table td b").count() == 0
    assert errors == []
    assert (OUTPUT / "reports-flow.png").stat().st_size > 10_000
