"""`flowkeeper jira check` / `flowkeeper linear check`: credentials, permissions, webhook setup."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from integration.settings import Settings
from integration.trackers.checklines import check_passed, render
from integration.trackers.factory import make_clients


def webhook_url(settings: Settings, tracker: str) -> str | None:
    """`FLOWKEEPER_BASE_URL/webhooks/<tracker>`; None when the public URL is not configured."""
    if not settings.base_url:
        return None
    return f"{settings.base_url.rstrip('/')}/webhooks/{tracker}"


def run_tracker_check(settings: Settings, tracker: str, projects: Sequence[str] = ()) -> int:
    client = make_clients(settings).get(tracker)
    if client is None:
        needed = "JIRA_URL, JIRA_USER and JIRA_API_TOKEN" if tracker == "jira" else "LINEAR_API_KEY"
        print(f"{tracker}: not configured: set {needed}", file=sys.stderr)
        return 2
    url = webhook_url(settings, tracker)
    if tracker == "jira":
        from integration.trackers.jira import check as jira_check
        from integration.trackers.jira.client import JiraClient

        if not isinstance(client, JiraClient):
            raise TypeError(f"jira: expected a JiraClient, got {type(client).__name__}")
        lines = jira_check.run_check(client, list(projects), url, secret_set=bool(settings.jira_webhook_secrets))
    else:
        # Linear's check takes no project list: the key's teams are the scope.
        from integration.trackers.linear import check as linear_check
        from integration.trackers.linear.client import LinearClient

        if not isinstance(client, LinearClient):
            raise TypeError(f"linear: expected a LinearClient, got {type(client).__name__}")
        lines = linear_check.run_check(client, url, secret_set=bool(settings.linear_webhook_secrets))
    print(render(lines))
    return 0 if check_passed(lines) else 1
