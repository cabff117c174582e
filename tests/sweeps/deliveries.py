"""Webhook bodies for what people do on the stub's site, shaped like the captured deliveries.

Each function changes the site first (a status move, a comment, an edit), then builds the
delivery the tracker sends for it: Jira's `jira:issue_updated` / `comment_created` /
`comment_updated`, Linear's Issue and Comment `create` / `update` envelopes.
"""

from __future__ import annotations

import copy
from typing import Any

from integration.stubtracker import linear
from integration.stubtracker.jira import stamp
from integration.stubtracker.site import Account, Site, jira_user


def _millis(site: Site) -> int:
    return int(site.now.timestamp() * 1000)


# ---- Jira ------------------------------------------------------------------------------

def _jira_envelope(site: Site, event: str, key: str, actor: Account) -> dict[str, Any]:
    return {"timestamp": _millis(site), "webhookEvent": event, "user": jira_user(actor),
            "issue": copy.deepcopy(site.payload(key))}


def _jira_slim(site: Site, key: str) -> dict[str, Any]:
    issue = site.payload(key)
    return {"id": issue["id"], "key": key, "self": issue["self"],
            "fields": {"summary": issue["fields"]["summary"], "status": issue["fields"]["status"]}}


# ---- Linear ----------------------------------------------------------------------------

def _linear_envelope(site: Site, kind: str, action: str, data: dict[str, Any], actor: Account) -> dict[str, Any]:
    body: dict[str, Any] = {"action": action, "type": kind, "createdAt": linear.iso(site.now), "data": data,
                            "url": data.get("url", ""), "organizationId": linear.VIEWER["organization"]["id"],
                            "webhookTimestamp": _millis(site), "webhookId": "hook-1"}
    if actor.bot:
        data["botActor"] = {"id": actor.id, "name": actor.name, "type": "integration"}
        body["actor"] = {"id": actor.id, "name": actor.name, "type": "integration"}
    else:
        body["actor"] = {"id": actor.id, "name": actor.name, "type": "user"}
    return body


def _linear_data(site: Site, key: str) -> dict[str, Any]:
    node = copy.deepcopy(site.payload(key))
    node.pop("stateHistory", None)
    node.update(number=int(key.rsplit("-", 1)[1]), teamId=node["team"]["id"], stateId=node["state"]["id"],
                labelIds=[n["id"] for n in node["labels"]["nodes"]], labels=node["labels"]["nodes"])
    return node


def _linear_comment(site: Site, key: str, comment_id: str) -> dict[str, Any]:
    stored = site.payload(key)
    return next(c for c in site.state.linear_comments[stored["id"]] if c["id"] == comment_id)


# ---- what people do ----------------------------------------------------------------------

def status_changed(site: Site, key: str, status: str, category: str, actor: Account) -> dict[str, Any]:
    """Move the issue on the site, and the delivery that reports the move."""
    old = site.issues[key]
    old_status, old_state = old.status, (site.payload(key).get("state") or {}).get("id")
    site.move(key, status, category, actor)
    if site.tracker == "jira":
        body = _jira_envelope(site, "jira:issue_updated", key, actor)
        body["issue_event_type_name"] = "issue_generic"
        body["changelog"] = {"id": site.state.next_id(), "items": [
            {"field": "status", "fieldtype": "jira", "fieldId": "status", "from": "1", "fromString": old_status,
             "to": "2", "toString": status}]}
        return body
    body = _linear_envelope(site, "Issue", "update", _linear_data(site, key), actor)
    body["updatedFrom"] = {"updatedAt": site.payload(key)["updatedAt"], "stateId": old_state}
    return body


def labels_changed(site: Site, key: str, old: list[str], actor: Account) -> dict[str, Any]:
    """The delivery a tracker sends after a label edit (Flowkeeper's own, or a person's)."""
    if site.tracker == "jira":
        body = _jira_envelope(site, "jira:issue_updated", key, actor)
        body["changelog"] = {"id": site.state.next_id(), "items": [
            {"field": "labels", "fieldtype": "jira", "fieldId": "labels", "from": None, "fromString": " ".join(old),
             "to": None, "toString": " ".join(site.issues[key].labels)}]}
        return body
    body = _linear_envelope(site, "Issue", "update", _linear_data(site, key), actor)
    body["updatedFrom"] = {"updatedAt": site.payload(key)["updatedAt"], "labelIds": [site.label_id(n) for n in old]}
    return body


def commented(site: Site, key: str, author: Account, text: str) -> dict[str, Any]:
    """Add a comment on the site, and the comment-created delivery (Jira: a plain-string body)."""
    made = site.comment(key, author, text)
    if site.tracker == "jira":
        return {"timestamp": _millis(site), "webhookEvent": "comment_created",
                "comment": {"id": made.id, "author": jira_user(author), "body": text, "created": made.created,
                            "updated": made.created},
                "issue": _jira_slim(site, key)}
    issue = site.payload(key)
    data: dict[str, Any] = {"id": made.id, "createdAt": made.created, "updatedAt": made.created, "body": text,
                            "issueId": issue["id"], "issue": {"id": issue["id"], "title": issue["title"]}}
    if not author.bot:  # an integration's comment names no user, only the bot actor
        data.update(userId=author.id, user={"id": author.id, "name": author.name})
    return _linear_envelope(site, "Comment", "create", data, author)


def edited(site: Site, key: str, author: Account, comment_id: str, text: str) -> dict[str, Any]:
    """Edit a comment on the site, and the comment-updated delivery (Jira names the editor `updateAuthor`)."""
    made = site.edit_comment(key, comment_id, text)
    if site.tracker == "jira":
        stored = next(c for c in site.state.jira_comments[key] if c["id"] == comment_id)
        return {"timestamp": _millis(site), "webhookEvent": "comment_updated",
                "comment": {"id": made.id, "author": stored["author"], "updateAuthor": jira_user(author), "body": text,
                            "created": made.created, "updated": stamp(site.now)},
                "issue": _jira_slim(site, key)}
    issue = site.payload(key)
    data: dict[str, Any] = {"id": made.id, "createdAt": _linear_comment(site, key, comment_id)["createdAt"],
                            "updatedAt": linear.iso(site.now), "editedAt": linear.iso(site.now), "body": text,
                            "issueId": issue["id"], "issue": {"id": issue["id"], "title": issue["title"]},
                            "userId": author.id, "user": {"id": author.id, "name": author.name}}
    return _linear_envelope(site, "Comment", "update", data, author)
