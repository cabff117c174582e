"""The audit log page: filters, keyset pages, CSV export, and untrusted text kept inert."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient

from integration.store.audit import AuditEntry, Outcome
from integration.store.store import Store

START = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def store(app: Flask) -> Store:
    return app.extensions["flowkeeper"].services.store  # type: ignore[no-any-return]


def entry(i: int, **changes: object) -> AuditEntry:
    fields: dict[str, object] = {
        "at": START + timedelta(hours=i),
        "tracker": "jira" if i % 2 else "linear",
        "action": "add_labels",
        "outcome": Outcome.WOULD_DO,
        "reason": f"decision {i}",
        "item_key": f"ABC-{i}",
        "rule": "started-without-assignee",
    }
    fields.update(changes)
    return AuditEntry(**fields)  # type: ignore[arg-type]


def test_filters_by_rule_item_outcome_tracker_and_time(store: Store, admin: FlaskClient) -> None:
    store.audit.record(
        [
            entry(1),
            entry(2, rule="stalled-in-progress"),
            entry(3, outcome=Outcome.FAILED),
            entry(4, item_key="ABC-1"),
            entry(30),
        ]
    )

    def keys(**query: str) -> list[str]:
        return [e["reason"] for e in admin.get("/admin/audit.json", query_string=query).json["entries"]]

    assert keys() == ["decision 30", "decision 4", "decision 3", "decision 2", "decision 1"]
    assert keys(rule="stalled-in-progress") == ["decision 2"]
    assert keys(item="ABC-1") == ["decision 4", "decision 1"]
    assert keys(outcome="failed") == ["decision 3"]
    assert keys(tracker="linear") == ["decision 30", "decision 4", "decision 2"]
    assert keys(since="2026-11-02") == ["decision 30"]
    assert keys(until="2026-11-01") == ["decision 4", "decision 3", "decision 2", "decision 1"]
    assert keys(outcome="nonsense") == keys()  # an unknown filter value is ignored, not an error


def test_pages_older_entries_by_keyset(store: Store, admin: FlaskClient) -> None:
    store.audit.record([entry(i) for i in range(120)])
    first = admin.get("/admin/audit.json").json
    assert len(first["entries"]) == 50 and first["entries"][0]["reason"] == "decision 119"
    second = admin.get("/admin/audit.json", query_string={"before": first["next_before"]}).json
    assert second["entries"][0]["reason"] == "decision 69"
    third = admin.get("/admin/audit.json", query_string={"before": second["next_before"]}).json
    assert len(third["entries"]) == 20 and third["next_before"] is None
    page = admin.get("/admin/audit", query_string={"rule": "started-without-assignee"}).get_data(as_text=True)
    assert f'href="/admin/audit?before={first["next_before"]}&amp;rule=started-without-assignee"' in page


def test_page_shows_outcome_reason_and_details(store: Store, admin: FlaskClient) -> None:
    store.audit.record(
        [entry(1, outcome=Outcome.HELD, reason="held: 40 items would change", detail={"labels": ["stalled"]})]
    )
    page = admin.get("/admin/audit").get_data(as_text=True)
    assert '<span class="badge held">held</span>' in page
    assert "held: 40 items would change" in page and "&#34;stalled&#34;" in page


def test_script_in_tracker_text_is_escaped(store: Store, admin: FlaskClient) -> None:
    title = '<script>alert("pwned")</script>'
    store.audit.record([entry(1, reason=f"flagged {title}", detail={"comment": title}, item_key="X-1")])
    page = admin.get("/admin/audit").get_data(as_text=True)
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(&#34;pwned&#34;)&lt;/script&gt;" in page


def test_csv_export_follows_the_filters_and_defuses_formulas(store: Store, admin: FlaskClient) -> None:
    store.audit.record(
        [
            entry(1, reason='=HYPERLINK("http://evil")'),
            entry(2, rule="stalled-in-progress"),
            entry(3, outcome=Outcome.DONE, detail={"labels": ["needs-owner"]}),
        ]
    )
    response = admin.get("/admin/audit.csv", query_string={"rule": "started-without-assignee"})
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"].startswith('attachment; filename="flowkeeper-audit-')
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [r["item_key"] for r in rows] == ["ABC-3", "ABC-1"]
    assert rows[1]["reason"] == '\'=HYPERLINK("http://evil")'
    assert rows[0]["detail"] == '{"labels": ["needs-owner"]}' and rows[0]["outcome"] == "done"


def test_csv_export_streams_every_matching_entry(store: Store, admin: FlaskClient) -> None:
    store.audit.record([entry(i) for i in range(2500)])
    rows = list(csv.reader(io.StringIO(admin.get("/admin/audit.csv").get_data(as_text=True))))
    assert len(rows) == 2501 and rows[0][0] == "id"


def test_empty_log(admin: FlaskClient) -> None:
    assert "No decisions match these filters." in admin.get("/admin/audit").get_data(as_text=True)


def test_a_comment_write_shows_its_text_without_opening_details(store: Store, admin: FlaskClient) -> None:
    text = "@Ada ABC-1 has had no activity for 6 days in In Progress. Is something in the way?"
    store.audit.record([entry(1, action="comment", outcome=Outcome.DONE, reason="commented (10001)",
                              detail={"identity": "stalled/1/0/comment", "comment": text}),
                        entry(2, detail={"labels": ["stalled"]})])
    page = admin.get("/admin/audit").get_data(as_text=True)
    assert page.count('<blockquote class="audit-comment">') == 1  # only the comment write has a text
    assert f'<blockquote class="audit-comment">{text}</blockquote>' in page.replace("&#39;", "'")
    row = page[page.index('<blockquote class="audit-comment">'):]
    assert row.index("</blockquote>") < row.index("<details>")  # outside the closed details
