"""The sandbox's seeded workspace: a Jira site and a Linear workspace a newcomer recognises.

Pure data shaped like the real APIs (Jira REST v3 issues, Linear Issue nodes), dated
relative to `now` so the stalled work is stalled whenever the sandbox runs (the idle spans
are long enough in business days on any weekday). Each item is
there to make one built-in rule fire, and the rest is ordinary work so reports have data.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

PEOPLE = {
    "ada": ("acc-ada", "Ada Lovelace"), "grace": ("acc-grace", "Grace Hopper"),
    "linus": ("acc-linus", "Linus Pauling"), "rita": ("acc-rita", "Rita Reporter"),
}
JIRA_CATEGORY = {"To Do": ("new", 2), "In Progress": ("indeterminate", 4), "In Review": ("indeterminate", 4),
                 "Done": ("done", 3)}
LINEAR_TYPE = {"Todo": "unstarted", "In Progress": "started", "In Review": "started", "Done": "completed"}


def _jira_time(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%S.000+0000")


def _linear_time(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def jira_user(who: str) -> dict[str, Any]:
    account, name = PEOPLE[who]
    return {"accountId": account, "displayName": name, "accountType": "atlassian", "active": True}


def jira_issue(key: str, summary: str, status: str, *, now: datetime, idle_days: int, who: str | None = "ada",
               bug: bool = False, priority: str | None = "Medium", estimate: float | None = 3,
               labels: tuple[str, ...] = (), blocked_by: str | None = None) -> dict[str, Any]:
    """A Jira issue as GET /issue/{key} returns it; `idle_days` since anyone last touched it.

    `blocked_by` links it to an issue still in To Do, as Jira's "Blocks" link shows it.
    """
    number = int(key.split("-")[-1])
    category, category_id = JIRA_CATEGORY[status]
    touched = now - timedelta(days=idle_days)
    project = key.split("-")[0]
    path = ["To Do", "In Progress", "In Review", "Done"]
    steps = path[1 : path.index(status) + 1] if status in path else []
    histories = [  # one status change per step, a day apart, the last one `idle_days` ago
        {"id": f"{number}{n}", "author": jira_user(who or "rita"),
         "created": _jira_time(touched - timedelta(days=len(steps) - 1 - n)),
         "items": [{"field": "status", "fieldtype": "jira", "fieldId": "status", "fromString": path[n],
                    "toString": step}]}
        for n, step in enumerate(steps)]
    return {
        "changelog": {"histories": histories},
        "id": str(1000 * sum(map(ord, project)) + number), "key": key,
        "self": f"https://demo.atlassian.net/rest/api/3/issue/{key}",
        "fields": {
            "summary": summary,
            "status": {"name": status, "id": str(category_id),
                       "statusCategory": {"key": category, "id": category_id, "name": status}},
            "assignee": jira_user(who) if who else None,
            "reporter": jira_user("rita"),
            "labels": list(labels),
            "issuetype": {"id": "10004" if bug else "10001", "name": "Bug" if bug else "Story", "subtask": False},
            "project": {"key": project, "id": str(10000 + sum(map(ord, project))), "name": project.title()},
            "priority": {"name": priority, "id": "3"} if priority else None,
            "customfield_10016": estimate,
            "created": _jira_time(touched - timedelta(days=3)),
            "updated": _jira_time(touched),
            "statuscategorychangedate": _jira_time(touched),
            "resolutiondate": _jira_time(touched) if category == "done" else None,
            "duedate": None, "resolution": {"name": "Done"} if category == "done" else None,
            "issuelinks": [_blocked_by(blocker) for blocker in (blocked_by,) if blocker],
            "parent": None, "description": None,
        },
    }


def _blocked_by(key: str) -> dict[str, Any]:
    category, category_id = JIRA_CATEGORY["To Do"]
    return {"id": f"link-{key}", "type": {"id": "10000", "name": "Blocks", "inward": "is blocked by",
                                          "outward": "blocks"},
            "inwardIssue": {"key": key, "fields": {"status": {
                "name": "To Do", "id": str(category_id),
                "statusCategory": {"key": category, "id": category_id, "name": "To Do"}}}}}


def jira_workspace(now: datetime) -> list[dict[str, Any]]:
    """OPS and WEB: stalled, blocked and unowned work, a bug without priority, Ada over the WIP limit, done work."""
    issue = jira_issue
    return [
        issue("OPS-2", "Rotate the database credentials", "In Progress", now=now, idle_days=15),
        issue("OPS-3", "Alert on disk usage", "In Progress", now=now, idle_days=1),
        issue("OPS-4", "Nightly backup fails on Sundays", "To Do", now=now, idle_days=1, who=None, bug=True,
              priority=None, estimate=None),
        issue("OPS-5", "Upgrade the load balancer", "In Progress", now=now, idle_days=2, blocked_by="OPS-4"),
        issue("OPS-10", "Document the on-call rota", "In Review", now=now, idle_days=6, who="grace"),
        issue("OPS-11", "Move the status page", "Done", now=now, idle_days=6, who="grace"),
        issue("OPS-12", "Retire the old VPN", "Done", now=now, idle_days=12, who="linus"),
        issue("WEB-1", "Checkout button overlaps the footer", "In Progress", now=now, idle_days=2),
        issue("WEB-2", "Search results page", "In Progress", now=now, idle_days=3, who="linus", estimate=None),
        issue("WEB-3", "Dark mode", "Done", now=now, idle_days=3, who="linus"),
        issue("WEB-4", "Cookie banner wording", "To Do", now=now, idle_days=5, who="grace"),
        issue("WEB-5", "Newsletter sign-up form", "In Progress", now=now, idle_days=1, who=None),
    ]


def linear_user(who: str) -> dict[str, Any]:
    account, name = PEOPLE[who]
    return {"id": f"lin-{account}", "name": name, "displayName": who, "email": f"{who}@demo.test"}


def linear_issue(identifier: str, title: str, state: str, *, now: datetime, idle_days: int,
                 who: str | None = "grace", bug: bool = False, priority: int = 3,
                 estimate: int | None = 2) -> dict[str, Any]:
    """A Linear Issue node with the fields Flowkeeper's client asks for."""
    team = identifier.split("-")[0]
    touched = now - timedelta(days=idle_days)
    labels = [{"id": "label-bug", "name": "Bug"}] if bug else []
    return {
        "id": f"demo-{identifier.lower()}", "identifier": identifier,
        "url": f"https://linear.app/demo/issue/{identifier}", "title": title, "description": "",
        "priority": priority, "priorityLabel": ["No priority", "Urgent", "High", "Medium", "Low"][priority],
        "estimate": estimate, "dueDate": None,
        "createdAt": _linear_time(touched - timedelta(days=3)), "updatedAt": _linear_time(touched),
        "completedAt": _linear_time(touched) if LINEAR_TYPE[state] == "completed" else None,
        "state": {"id": f"state-{team}-{state.replace(' ', '-').lower()}", "name": state, "type": LINEAR_TYPE[state]},
        "assignee": linear_user(who) if who else None, "creator": linear_user("rita"),
        "team": {"id": f"team-{team.lower()}", "key": team, "name": team.title()},
        "project": None, "cycle": None, "parent": None,
        "labels": {"nodes": labels},
        "stateHistory": {"nodes": [{"startedAt": _linear_time(touched), "endedAt": None}]},
    }


def linear_workspace(now: datetime) -> dict[str, Any]:
    """APP and DATA teams: the same kinds of trouble as on Jira, so each tracker shows each rule."""
    issue = linear_issue
    issues = [
        issue("APP-1", "Offline mode for the mobile app", "In Progress", now=now, idle_days=15),
        issue("APP-2", "Crash when the camera permission is denied", "Todo", now=now, idle_days=1, who=None,
              bug=True, priority=0, estimate=None),
        issue("APP-3", "Onboarding screens", "In Review", now=now, idle_days=6, who="ada"),
        issue("APP-4", "Push notification settings", "Done", now=now, idle_days=5),
        issue("DATA-1", "Weekly revenue export", "In Progress", now=now, idle_days=2, who="linus", estimate=None),
        issue("DATA-2", "Deduplicate customer rows", "Done", now=now, idle_days=8, who="linus"),
    ]
    users = [linear_user(w) for w in PEOPLE]
    return {"issues": issues, "labels": [{"id": "label-bug", "name": "Bug"}], "users": users}


def jira_status_change(issue: dict[str, Any], *, old: str, who: str, at: datetime) -> dict[str, Any]:
    """The `jira:issue_updated` webhook Jira sends when `who` moves `issue` out of `old`."""
    fields = issue["fields"]
    return {
        "timestamp": int(at.timestamp() * 1000), "webhookEvent": "jira:issue_updated",
        "issue_event_type_name": "issue_generic", "user": jira_user(who), "issue": issue,
        "changelog": {"id": "90001", "items": [{
            "field": "status", "fieldtype": "jira", "fieldId": "status", "from": "2", "fromString": old,
            "to": fields["status"]["id"], "toString": fields["status"]["name"]}]},
    }
