"""`flowkeeper jira check`: can Flowkeeper's account do its job on this site?

Answers before the first sweep what would otherwise surface as failed writes: do the
credentials work, may the account comment and edit labels in each configured project,
and what must the admin select when creating the webhook.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass

from integration.trackers.base import TrackerError
from integration.trackers.jira.client import JiraClient
from integration.trackers.jira.normalize import EVENT_KINDS

NEEDED = {
    "BROWSE_PROJECTS": "see issues",
    "ADD_COMMENTS": "comment",
    "EDIT_ISSUES": "edit labels",
}
# notifyUsers=false (quiet label edits) needs project or Jira admin rights.
QUIET_EDITS = {"ADMINISTER_PROJECTS": "edit without notifying watchers (JIRA_NOTIFY_USERS=0)"}


class Verdict(str, enum.Enum):
    OK = "ok"
    WARN = "warn"
    FAIL = "fail"
    INFO = "info"


@dataclass(frozen=True, slots=True)
class CheckLine:
    verdict: Verdict
    title: str
    detail: str = ""

    def render(self) -> str:
        head = f"[{self.verdict.value:>4}] {self.title}"
        return f"{head}\n       {self.detail}" if self.detail else head


def run_check(client: JiraClient, projects: Sequence[str], webhook_url: str | None = None) -> list[CheckLine]:
    """Each line one finding; credentials failing stops there (nothing else can be known)."""
    try:
        me = client.whoami()
    except TrackerError as error:
        return [CheckLine(Verdict.FAIL, "credentials (GET /myself)", str(error))]
    lines = [CheckLine(Verdict.OK, "credentials (GET /myself)", f"acting as {me.name or '?'} ({me.id})")]
    if not projects:
        lines.append(
            CheckLine(Verdict.FAIL, "projects", "no Jira projects configured: sweeps would have no scope")
        )
    for project in projects:
        lines.append(_project_line(client, project))
    lines.append(webhook_line(projects, webhook_url))
    return lines


def _project_line(client: JiraClient, project: str) -> CheckLine:
    wanted = dict(NEEDED) if client.notify_users else {**NEEDED, **QUIET_EDITS}
    title = f"permissions in {project}"
    try:
        granted = client.my_permissions(project, list(wanted))
    except TrackerError as error:
        return CheckLine(Verdict.FAIL, title, str(error))
    missing = [f"{key} ({wanted[key]})" for key, ok in granted.items() if not ok]
    if not missing:
        return CheckLine(Verdict.OK, title, ", ".join(wanted.values()))
    only_quiet = all(m.startswith(tuple(QUIET_EDITS)) for m in missing)
    verdict = Verdict.WARN if only_quiet else Verdict.FAIL
    return CheckLine(verdict, title, "missing: " + ", ".join(missing))


def webhook_line(projects: Sequence[str], webhook_url: str | None) -> CheckLine:
    """What to enter in Jira settings → System → Webhooks."""
    url = (
        f"{webhook_url.rstrip('/')}/webhooks/jira"
        if webhook_url
        else "<Flowkeeper's public URL>/webhooks/jira"
    )
    scope = ", ".join(f'"{p}"' for p in projects)
    detail = "\n       ".join(
        [
            f"URL: {url}",
            "Secret: the value of JIRA_WEBHOOK_SECRET (Jira then signs with X-Hub-Signature)",
            "Events: " + ", ".join(EVENT_KINDS),
            f"JQL filter: project in ({scope})" if projects else "JQL filter: (none)",
        ]
    )
    return CheckLine(Verdict.INFO, "webhook to create in Jira", detail)


def check_passed(lines: Sequence[CheckLine]) -> bool:
    return not any(line.verdict is Verdict.FAIL for line in lines)


def render(lines: Sequence[CheckLine]) -> str:
    return "\n".join(line.render() for line in lines)
