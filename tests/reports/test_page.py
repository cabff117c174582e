"""The admin Reports page: login, sections with charts, filters, and every chart's numbers as CSV and JSON."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient

from integration.store.store import Store
from tests.reports.builder import Builder, day
from tests.reports.pageapp import log_in, report_app

EVIL = "<script>alert('title')</script>"


@pytest.fixture
def app(store: Store, db_url: str) -> Iterator[Flask]:
    b = Builder(store)
    b.item("ENG-1", 0, [(1, "In Progress"), (4, "Done")])
    b.item("ENG-2", 0, [(2, "In Progress"), (8, "Done")])
    b.item("ENG-3", 0, [(3, "In Progress")], title=EVIL, assignee="ann")
    b.item("MOB-1", 0, [(1, "In Progress"), (3, "Done")], team="MOB", tracker="linear")
    with report_app(db_url, day(14)) as app:
        yield app


@pytest.fixture
def admin(app: Flask) -> FlaskClient:
    client = app.test_client()
    log_in(client)
    return client


def test_reports_need_the_admin_login(app: Flask) -> None:
    client = app.test_client()
    assert client.get("/admin/reports").status_code == 302
    assert client.get("/admin/reports/cycle_time.json").status_code == 401
    assert client.get("/admin/reports/export.md").status_code == 302


def test_flow_section_renders_charts_and_numbers(admin: FlaskClient) -> None:
    page = admin.get("/admin/reports?period=14d").get_data(as_text=True)
    assert 'aria-current="page">Reports</a>' in page  # the admin nav's Reports slot
    assert page.count('<svg class="chart"') == 4  # cycle time, its scatterplot, lead time, throughput
    assert "count 3 · mean 3.67 · p50 3 · p85 6 · p95 6" in page  # cycle times 2 (MOB-1), 3 and 6 days
    assert "/admin/reports/cycle_time.csv?period=14d" in page


def test_filters_narrow_to_a_team_and_tracker(admin: FlaskClient) -> None:
    page = admin.get("/admin/reports?period=14d&team=ENG&tracker=jira").get_data(as_text=True)
    assert "count 2 · mean 4.5 · p50 3 · p85 6" in page
    assert '<option value="ENG" selected>' in page


def test_tracker_titles_are_escaped(admin: FlaskClient) -> None:
    page = admin.get("/admin/reports?section=aging&period=14d").get_data(as_text=True)
    assert EVIL not in page and "&lt;script&gt;alert(&#39;title&#39;)&lt;/script&gt;" in page


def test_each_chart_downloads_as_csv_and_json(admin: FlaskClient) -> None:
    response = admin.get("/admin/reports/throughput.csv?period=14d&team=ENG")
    assert response.headers["Content-Disposition"] == 'attachment; filename="flowkeeper-throughput.csv"'
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows == [["week", "completed", "cycle_p50_days"], ["2024-03-04", "1", "3.0"],
                    ["2024-03-11", "1", "6.0"]]
    data = admin.get("/admin/reports/wip_by_assignee.json?period=14d").get_json()
    assert data["rows"] == [{"assignee": "Ann", "items": 1}] and data["scope"]["teams"] == []
    assert admin.get("/admin/reports/nope.json").status_code == 404


def test_whole_report_exports(admin: FlaskClient) -> None:
    md = admin.get("/admin/reports/export.md?period=14d").get_data(as_text=True)
    assert md.startswith("# Flowkeeper flow report") and "## Roadmap" in md
    html = admin.get("/admin/reports/export.html?period=14d").get_data(as_text=True)
    assert html.count("<svg") >= 6 and "<script" not in html
    assert admin.get("/admin/reports/export.pdf").status_code == 404


def test_a_bad_date_falls_back_with_a_message(admin: FlaskClient) -> None:
    page = admin.get("/admin/reports?since=yesterday-ish").get_data(as_text=True)
    assert "showing the last 30d instead" in page
    assert '<svg class="chart"' in page


def test_forecast_tab_asks_when_and_how_many(admin: FlaskClient) -> None:
    page = admin.get("/admin/reports?section=forecast&period=14d&items=4&by=2024-03-30").get_data(as_text=True)
    assert "When will 4 items be done?" in page and "How many items by 2024-03-30?" in page
    assert 'name="items" min="0" max="100000" value="4"' in page
    assert "history too short to forecast: 3 item(s) finished in 14 days, at least 5 needed" in page
    bad = admin.get("/admin/reports?section=forecast&period=14d&by=2020-01-01").get_data(as_text=True)
    assert "the forecast date 2020-01-01 is before the end of the period" in bad


def test_cfd_tab_draws_bands_by_category_or_status(admin: FlaskClient) -> None:
    page = admin.get("/admin/reports?section=cfd&period=14d").get_data(as_text=True)
    assert page.count('<polygon class="band"') == 3 and "by status</a>" in page
    by_status = admin.get("/admin/reports?section=cfd&period=14d&cfd=status").get_data(as_text=True)
    assert "<strong>by status</strong>" in by_status and "Cumulative flow: items in each status by day" in by_status
    data = admin.get("/admin/reports/cfd.json?period=14d&cfd=status").get_json()
    assert data["columns"] == ["day", "Done", "In Progress", "To Do"]
