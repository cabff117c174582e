"""A sweep over a mocked workspace of 10,000 issues asks only for its 100 candidates.

The answer below applies the IssueFilter the client sends to synthetic issues with the stub
tracker's evaluator, pages by cursor, and reports each query's complexity, so the test
sees what a real workspace would answer.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import responses

from integration.stubtracker.issuefilter import search
from integration.trackers.linear.client import LinearClient
from integration.trackers.linear.complexity import MAX_QUERY_COMPLEXITY, estimate
from integration.trackers.linear.filter import to_filter
from integration.trackers.linear.item import LinearConfig
from integration.trackers.linear.ops import document
from rules.model import SearchQuery, StatusCategory

URL = "https://api.linear.app/graphql"
NOW = datetime(2025, 6, 2, tzinfo=UTC)
HOURLY_COMPLEXITY = 3_000_000  # API key budget per hour (NOTES.md)
TEAMS = ("ENG", "OPS", "WEB", "DES")
STATES = ("backlog", "unstarted", "started", "completed", "canceled")


def workspace() -> list[dict[str, Any]]:
    """10,000 issues; 90 are ENG, started and untouched for 30 days; 10 more carry the flag."""
    issues = []
    for n in range(10_000):
        candidate, flagged = n % 100 == 7 and n < 9_000, n % 1000 == 3
        issues.append(
            {
                "id": f"id-{n}",
                "identifier": f"{TEAMS[n % 4] if not candidate else 'ENG'}-{n}",
                "team": {"id": "t", "key": "ENG" if candidate else TEAMS[n % 4 if n % 4 else 1]},
                "state": {"id": "s", "name": "x", "type": "started" if candidate else STATES[(n // 4) % 5]},
                "updatedAt": (NOW - timedelta(days=30 if candidate else 1))
                .isoformat()
                .replace("+00:00", "Z"),
                "labels": {"nodes": [{"id": "l-f", "name": "stalled"}] if flagged else []},
            }
        )
    return issues


def node(issue: dict[str, Any]) -> dict[str, Any]:
    return {
        **issue,
        "url": f"https://linear.app/acme/issue/{issue['identifier']}",
        "title": "t",
        "description": None,
        "priority": 0,
        "priorityLabel": "No priority",
        "estimate": None,
        "dueDate": None,
        "createdAt": "2025-01-01T00:00:00Z",
        "assignee": None,
        "creator": None,
        "project": None,
        "cycle": None,
        "parent": None,
        "stateHistory": {"nodes": []},
    }


def test_sweep_of_10000_issues_fetches_only_the_candidates() -> None:
    issues, sent = workspace(), []

    def answer(request: Any) -> tuple[int, dict[str, str], str]:
        body = json.loads(request.body)
        sent.append(body)
        v = body["variables"]
        hits = search(issues, v.get("filter") or {}, v.get("sort"))
        start = int(v["after"] or 0)
        page = hits[start : start + v["first"]]
        more = start + len(page) < len(hits)
        data = {
            "issues": {
                "nodes": [node(i) for i in page],
                "pageInfo": {"hasNextPage": more, "endCursor": str(start + len(page))},
            }
        }
        cost = estimate(document(body["operationName"]), v)
        return 200, {"X-Complexity": str(cost)}, json.dumps({"data": data})

    query = SearchQuery(
        teams=("ENG",),
        status_categories=(StatusCategory.IN_PROGRESS,),
        updated_before=NOW - timedelta(days=14),
        always_include_labels=("stalled",),
    )
    client = LinearClient(URL, "lin_api_x", config=LinearConfig(), sleep=lambda _: None)
    with responses.RequestsMock() as mock:
        mock.add_callback(responses.POST, URL, callback=answer)
        found = list(client.search_all(query, page_size=50))

    assert len(found) == 100 and len({i.key for i in found}) == 100
    assert len(sent) == 2  # 100 candidates / 50 per page; without the filter it would be 200 pages
    assert all(
        b["operationName"] == "SearchIssues" and b["variables"]["filter"] == to_filter(query) for b in sent
    )
    assert sent[0]["variables"]["filter"]["or"][1] == {"labels": {"some": {"name": {"eqIgnoreCase": "stalled"}}}}
    assert all(i.status.category is StatusCategory.IN_PROGRESS or "stalled" in i.labels for i in found)
    per_query = estimate(document("SearchIssues"), {"first": 50})
    assert per_query <= MAX_QUERY_COMPLEXITY
    assert client.gateway.complexity_estimated == 2 * per_query
    assert client.gateway.budget.last_complexity == per_query  # what Linear reported on the last answer
    assert client.gateway.complexity_estimated < 0.01 * HOURLY_COMPLEXITY  # ~4,500 of 3,000,000 points
