"""`flowkeeper linear check`: is the key valid, which teams it sees, how to set up the webhook.

Each line is something an operator can act on; a failed line says what to fix, naming the
variables Flowkeeper really reads (LINEAR_API_KEY, LINEAR_WEBHOOK_SECRET, FLOWKEEPER_BASE_URL).
"""

from __future__ import annotations

from typing import Protocol

from integration.trackers.base import TrackerError
from integration.trackers.checklines import CheckLine, Verdict, detail_lines, webhook_address

RESOURCE_TYPES = ("Issues", "Comments", "Issue labels")


class CheckedClient(Protocol):
    def organization_id(self) -> str: ...
    def teams(self) -> list[dict[str, str]]: ...
    def whoami(self) -> object: ...


def _viewer_line(client: CheckedClient) -> CheckLine:
    title = "API key (viewer)"
    try:
        me = client.whoami()
        org = client.organization_id()
    except TrackerError as error:
        return CheckLine(Verdict.FAIL, title, f"{error} — set LINEAR_API_KEY to a key of Flowkeeper's Linear user")
    name = getattr(me, "name", None) or getattr(me, "id", "?")
    return CheckLine(Verdict.OK, title, f"acting as {name} in organization {org}")


def _teams_line(client: CheckedClient) -> CheckLine:
    try:
        teams = client.teams()
    except TrackerError as error:
        return CheckLine(Verdict.FAIL, "teams", str(error))
    if not teams:
        return CheckLine(
            Verdict.FAIL, "teams", "the key's user sees no team; add it to the teams Flowkeeper should watch"
        )
    return CheckLine(Verdict.OK, "teams", ", ".join(f"{t['key']} ({t['name']})" for t in teams))


def webhook_line(webhook_url: str | None, secret_set: bool = True) -> CheckLine:
    """What to enter in Linear → Settings → API → Webhooks → New webhook."""
    secret = (
        "Signing secret: already set in LINEAR_WEBHOOK_SECRET (one webhook per team: list each, comma-separated)"
        if secret_set
        else "Signing secret: copy the webhook's secret into LINEAR_WEBHOOK_SECRET "
        "(one webhook per team: list each, comma-separated)"
    )
    detail = detail_lines(
        f"URL: {webhook_address(webhook_url, 'linear')}",
        "Resource types: " + ", ".join(RESOURCE_TYPES),
        secret,
    )
    return CheckLine(Verdict.INFO if secret_set else Verdict.WARN, "webhook to create in Linear", detail)


def run_check(client: CheckedClient, webhook_url: str | None = None, *, secret_set: bool = True) -> list[CheckLine]:
    """The key (viewer), the teams, then the webhook settings to enter in Linear."""
    lines = [_viewer_line(client)]
    if lines[0].ok:
        lines.append(_teams_line(client))
    lines.append(webhook_line(webhook_url, secret_set))
    return lines
