"""`flowkeeper linear check`: is the key valid, which teams it sees, how to set up the webhook.

Each line is something an operator can act on; a failed line says what to fix. The CLI
prints `format_check(run_check(client, webhook_url))` and exits non-zero if any line failed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from integration.trackers.base import TrackerError

RESOURCE_TYPES = ("Issues", "Comments", "Issue labels")


class CheckedClient(Protocol):
    def organization_id(self) -> str: ...
    def teams(self) -> list[dict[str, str]]: ...
    def whoami(self) -> object: ...


@dataclass(frozen=True, slots=True)
class CheckLine:
    ok: bool
    label: str
    detail: str


def _viewer_line(client: CheckedClient) -> CheckLine:
    try:
        me = client.whoami()
        org = client.organization_id()
    except TrackerError as error:
        return CheckLine(
            False, "API key", f"{error} — set LINEAR_API_KEY to a key of Flowkeeper's Linear user"
        )
    name = getattr(me, "name", None) or getattr(me, "id", "?")
    return CheckLine(True, "API key", f"valid; acting as {name} in organization {org}")


def _teams_line(client: CheckedClient) -> CheckLine:
    try:
        teams = client.teams()
    except TrackerError as error:
        return CheckLine(False, "teams", str(error))
    if not teams:
        return CheckLine(
            False, "teams", "the key's user sees no team; add it to the teams Flowkeeper should watch"
        )
    return CheckLine(True, "teams", ", ".join(f"{t['key']} ({t['name']})" for t in teams))


def run_check(client: CheckedClient, webhook_url: str | None = None) -> list[CheckLine]:
    """The key (viewer), the teams, then the webhook settings to enter in Linear."""
    lines = [_viewer_line(client)]
    if lines[0].ok:
        lines.append(_teams_line(client))
    if webhook_url:
        lines.append(CheckLine(True, "webhook URL", f"{webhook_url} (Linear → Settings → API → Webhooks)"))
    else:
        lines.append(
            CheckLine(
                False,
                "webhook URL",
                "unknown: set FLOWKEEPER_PUBLIC_URL; Linear posts to <public URL>/webhooks/linear",
            )
        )
    lines.append(
        CheckLine(
            True,
            "resource types",
            ", ".join(RESOURCE_TYPES)
            + " — then put the webhook's signing secret into LINEAR_WEBHOOK_SECRETS",
        )
    )
    return lines


def format_check(lines: list[CheckLine]) -> str:
    return "\n".join(f"{'ok  ' if line.ok else 'FAIL'} {line.label}: {line.detail}" for line in lines)
