"""`flowkeeper jira check` / `flowkeeper linear check`: credentials, permissions, webhook setup."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from integration.settings import Settings
from integration.trackers.factory import make_clients


def webhook_url(settings: Settings, tracker: str) -> str:
    base = settings.base_url or f"http://<your-host>:{settings.port}"
    return f"{base}/webhooks/{tracker}"


def run_tracker_check(settings: Settings, tracker: str, projects: Sequence[str] = ()) -> int:
    client = make_clients(settings).get(tracker)
    if client is None:
        needed = "JIRA_URL, JIRA_USER and JIRA_API_TOKEN" if tracker == "jira" else "LINEAR_API_KEY"
        print(f"{tracker}: not configured: set {needed}", file=sys.stderr)
        return 2
    if tracker == "jira":
        from integration.trackers import jira_check as check
    else:
        from integration.trackers import linear_check as check  # type: ignore[no-redef]
    lines = check.run_check(client, list(projects), webhook_url(settings, tracker))
    print(check.render(lines))
    return 0 if check.check_passed(lines) else 1
