"""The admin navigation: one list every page's `base.html` renders.

Another feature adds its page with `add_nav_link(app, "Reports", "reports.index")`; the
Reports slot is also shown on its own as soon as an endpoint named `reports.index`
exists, so the link appears without any change here.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, current_app, request


@dataclass(frozen=True)
class NavLink:
    label: str
    endpoint: str


BUILT_IN = (
    NavLink("Overview", "admin.overview"),
    NavLink("Rules", "admin_rules.index"),
    NavLink("Flagged", "admin_flagged.index"),
    NavLink("Audit log", "admin_audit.index"),
    NavLink("Explain", "admin_explain.index"),
    NavLink("Held", "admin_held.index"),
    NavLink("Failed jobs", "admin_jobs.index"),
    NavLink("Charts", "admin_charts.index"),
)
REPORTS_SLOT = NavLink("Reports", "reports.index")
SETUP = NavLink("Setup", "admin.setup")
EXTRA_KEY = "ADMIN_NAV_EXTRA"


def add_nav_link(app: Flask, label: str, endpoint: str) -> None:
    """Add a page to the admin navigation (before Setup), e.g. the Reports page."""
    extra: list[NavLink] = app.config.setdefault(EXTRA_KEY, [])
    if all(link.endpoint != endpoint for link in extra):
        extra.append(NavLink(label, endpoint))


def nav_links() -> list[tuple[NavLink, bool]]:
    """The links to show, each with whether it is the current page."""
    existing = current_app.view_functions
    extra = list(current_app.config.get(EXTRA_KEY, []))
    if REPORTS_SLOT.endpoint in existing and all(link.endpoint != REPORTS_SLOT.endpoint for link in extra):
        extra.insert(0, REPORTS_SLOT)
    links = [link for link in (*BUILT_IN, *extra, SETUP) if link.endpoint in existing]
    current = (request.blueprint or "") if request else ""
    return [(link, link.endpoint.rsplit(".", 1)[0] == current and _same_page(link)) for link in links]


def _same_page(link: NavLink) -> bool:
    if link.endpoint in ("admin.overview", "admin.setup"):
        return request.endpoint == link.endpoint
    return True
