"""Headless Chromium for page tests: Debian's browser driven by Playwright, console errors collected.

Playwright cannot download its own browsers here, so it drives `/usr/bin/chromium`. A
missing browser skips locally and fails in CI (`tests.conftest.unavailable`). The
Flowkeeper app runs in a thread on a loopback port, so the browser talks real HTTP.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.conftest import unavailable

CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
OUTPUT = Path(__file__).resolve().parents[2] / "test-output" / "admin"


def chromium_path() -> str:
    path = os.environ.get("FLOWKEEPER_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).exists():
        unavailable("Chromium (/usr/bin/chromium: apt-get install -y chromium)")
    return path


class ConsoleErrors:
    """Every console error and uncaught page error, with the page it happened on."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    def watch(self, page: Any) -> None:
        page.on("console", lambda msg: msg.type == "error" and self.errors.append(f"{page.url}: {msg.text}"))
        page.on("pageerror", lambda error: self.errors.append(f"{page.url}: {error}"))


@contextmanager
def browser_page() -> Iterator[tuple[Any, ConsoleErrors]]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("Playwright (pip install playwright)")
    executable = chromium_path()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        try:
            context = browser.new_context(viewport={"width": 1360, "height": 900})
            page = context.new_page()
            page.set_default_timeout(10_000)
            console = ConsoleErrors()
            console.watch(page)
            yield page, console
        finally:
            browser.close()


def output_dir(test_name: str) -> Path:
    """Screenshots go to test-output/admin/<test> (kept by CI, ignored by git)."""
    folder = OUTPUT / test_name
    folder.mkdir(parents=True, exist_ok=True)
    return folder
