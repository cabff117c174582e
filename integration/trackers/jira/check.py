"""`flowkeeper jira check`: can Flowkeeper's account do its job on this site?

Answers before the first sweep what would otherwise surface as failed writes: do the
credentials work, may the account comment and edit labels in each given project, which
field holds story points, and what must the admin enter when creating the webhook.
"""

from __future__ import annotations

from collections.abc import Sequence

from integration.trackers.base import TrackerError
from integration.trackers.checklines import CheckLine, Verdict, detail_lines, webhook_address
from integration.trackers.jira.client import JiraClient

NEEDED = {
    "BROWSE_PROJECTS": "see issues",
    "ADD_COMMENTS": "comment",
    "EDIT_ISSUES": "edit labels",
}
# notifyUsers=false (quiet label edits) needs project or Jira admin rights.
QUIET_EDITS = {"ADMINISTER_PROJECTS": "edit without notifying watchers (JIRA_NOTIFY_USERS=0)"}
# What to tick in Jira settings → System → WebHooks: the events the normalizer understands.
WEBHOOK_EVENTS = "Issue: created, updated, deleted; Comment: created, updated"


def run_check(
    client: JiraClient, projects: Sequence[str], webhook_url: str | None = None, *, secret_set: bool = True
) -> list[CheckLine]:
    """Each line one finding; credentials failing stops there (nothing else can be known)."""
    try:
        me = client.whoami()
    except TrackerError as error:
        return [CheckLine(Verdict.FAIL, "credentials (GET /myself)", str(error))]
    lines = [CheckLine(Verdict.OK, "credentials (GET /myself)", f"acting as {me.name or '?'} ({me.id})")]
    if not projects:
        lines.append(
            CheckLine(
                Verdict.FAIL,
                "projects",
                "none given: run `flowkeeper jira check --project KEY` for each project Flowkeeper should watch",
            )
        )
    for project in projects:
        lines.append(_project_line(client, project))
    lines.append(story_points_line(client))
    lines.append(webhook_line(projects, webhook_url, secret_set))
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


def story_points_line(client: JiraClient) -> CheckLine:
    """Which field is read as the Item's estimate, and where that choice came from."""
    title = "story points field"
    try:
        chosen = client.story_points_field()
    except TrackerError as error:
        return CheckLine(Verdict.WARN, title, f"could not read the site's fields ({error}); estimates stay empty")
    if chosen is None:
        return CheckLine(
            Verdict.WARN,
            title,
            "none found (no field named \"Story point estimate\" or \"Story Points\"): "
            "set JIRA_STORY_POINTS_FIELD=customfield_NNNNN to read estimates",
        )
    return CheckLine(Verdict.OK, title, f"{chosen.field_id} ({chosen.name}), {chosen.source}")


def webhook_line(projects: Sequence[str], webhook_url: str | None, secret_set: bool = True) -> CheckLine:
    """What to enter in Jira settings → System → WebHooks → Create a WebHook."""
    scope = ", ".join(f'"{p}"' for p in projects)
    secret = (
        "Secret: the value of JIRA_WEBHOOK_SECRET (Jira then signs with X-Hub-Signature)"
        if secret_set
        else "Secret: choose one, enter it in Jira and set JIRA_WEBHOOK_SECRET to the same value"
    )
    detail = detail_lines(
        f"URL: {webhook_address(webhook_url, 'jira')}",
        secret,
        f"Events: {WEBHOOK_EVENTS}",
        f"JQL filter: project in ({scope})" if projects else "JQL filter: (none)",
    )
    return CheckLine(Verdict.INFO if secret_set else Verdict.WARN, "webhook to create in Jira", detail)
