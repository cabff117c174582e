"""`GET /_stub/`: what was written to the stub, per issue — the comments and labels a person would see."""

from __future__ import annotations

import json
from html import escape
from typing import Any

from integration.stubtracker.state import StubState


def comment_text(body: Any) -> str:
    """A comment body as text: Jira's ADF flattened, Linear's markdown as is."""
    if isinstance(body, str):
        return body
    if isinstance(body, dict):
        if body.get("type") == "text":
            return str(body.get("text", ""))
        if body.get("type") == "mention":
            return str((body.get("attrs") or {}).get("text", "@someone"))
        return "".join(comment_text(child) for child in body.get("content") or [])
    return json.dumps(body)


def written(state: StubState) -> list[dict[str, Any]]:
    """One row per issue the service wrote to: its labels now and the comments it posted."""
    rows = []
    with state.lock:
        for key, issue in sorted(state.jira_issues.items()):
            comments = [comment_text(c.get("body")) for c in state.jira_comments.get(key, [])]
            labels = list(issue["fields"].get("labels") or [])
            rows.append({"tracker": "jira", "key": key, "labels": labels, "comments": comments})
        for issue_id, issue in sorted(state.linear_issues.items(), key=lambda kv: kv[1].get("identifier", "")):
            comments = [str(c.get("body", "")) for c in state.linear_comments.get(issue_id, [])]
            labels = [n.get("name") for n in (issue.get("labels") or {}).get("nodes", [])]
            rows.append({"tracker": "linear", "key": issue.get("identifier", issue_id), "labels": labels,
                         "comments": comments})
    return rows


def render(rows: list[dict[str, Any]]) -> str:
    cells = "".join(
        f"<tr><td>{escape(r['tracker'])}</td><td>{escape(r['key'])}</td>"
        f"<td>{escape(', '.join(r['labels'])) or '—'}</td>"
        f"<td>{''.join(f'<p>{escape(c)}</p>' for c in r['comments']) or '—'}</td></tr>"
        for r in rows)
    return ("<!doctype html><title>Stub tracker</title><h1>Stub tracker: issues, labels and comments</h1>"
            "<p>Labels as they are now; comments as posted. JSON: <a href='/_stub/state'>/_stub/state</a>, "
            "every request: <a href='/_stub/requests'>/_stub/requests</a>.</p>"
            "<table border=1 cellpadding=4><tr><th>tracker</th><th>issue</th><th>labels</th><th>comments</th></tr>"
            f"{cells}</table>")
