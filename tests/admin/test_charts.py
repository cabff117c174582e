"""Charts: exact daily series on SQLite and PostgreSQL, and SVG that is escaped and self-contained."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

from flask import Flask
from flask.testing import FlaskClient

from integration.admin.queries.charts import decisions_by_outcome, flagged_over_time, rule_hits
from integration.admin.svg import line_chart, stacked_bars
from integration.store.audit import AuditEntry, Outcome
from integration.store.store import Store
from rules.model import EpisodeChange, EpisodeTransition

END = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)


def at(day: int, hour: int = 12) -> datetime:
    """`day` days before END's day, at `hour` UTC."""
    return datetime(2026, 11, 25, hour, 0, tzinfo=UTC) - timedelta(days=day)


def decision(when: datetime, rule: str | None = "stale", outcome: Outcome = Outcome.DONE) -> AuditEntry:
    return AuditEntry(
        at=when, tracker="jira", action="add_labels", outcome=outcome, reason="r", rule=rule, item_key="A-1"
    )


def test_decisions_by_outcome_per_utc_day(any_store: Store) -> None:
    any_store.audit.record(
        [
            decision(at(0)),
            decision(at(0, 23), outcome=Outcome.FAILED),
            decision(at(2, 0)),
            decision(at(2, 23), outcome=Outcome.WOULD_DO),
            decision(at(9)),
        ]
    )
    data = decisions_by_outcome(any_store, END, 7)
    assert data.days[0] == date(2026, 11, 19) and data.days[-1] == date(2026, 11, 25)
    assert data.series == {
        "done": [0, 0, 0, 0, 1, 0, 1],
        "failed": [0, 0, 0, 0, 0, 0, 1],
        "would_do": [0, 0, 0, 0, 1, 0, 0],
    }


def test_rule_hits_ignore_entries_without_a_rule(any_store: Store) -> None:
    any_store.audit.record(
        [
            decision(at(1)),
            decision(at(1), rule="wip"),
            decision(at(1), rule=None),
            decision(at(3), rule="wip"),
        ]
    )
    assert rule_hits(any_store, END, 4, ["stale", "wip", "quiet"]).series == {
        "stale": [0, 0, 1, 0],
        "wip": [1, 0, 1, 0],
    }
    assert rule_hits(any_store, END, 4, ["stale", "wip"], top=1).series == {"wip": [1, 0, 1, 0]}


def test_flagged_over_time_counts_open_episodes_at_each_day_end(any_store: Store) -> None:
    states = any_store.rule_states

    def episode(item: str, rule: str, opened: datetime, closed: datetime | None = None) -> None:
        states.apply("jira", item, item, "live", [EpisodeTransition(rule, EpisodeChange.OPEN, 1)], [], opened)
        if closed is not None:
            states.apply(
                "jira", item, item, "live", [EpisodeTransition(rule, EpisodeChange.CLOSE, 1)], [], closed
            )

    episode("A-1", "stale", at(5))  # open all along from day -5
    episode("A-2", "stale", at(3), at(1))  # open at the end of days -3 and -2
    episode("A-3", "wip", at(2, 23))
    episode("A-4", "wip", at(30), at(20))  # closed before the window: not drawn
    data = flagged_over_time(any_store, END, 5)
    assert data.series == {"stale": [1, 2, 2, 1, 1], "wip": [0, 0, 1, 1, 1]}
    earlier = flagged_over_time(any_store, END - timedelta(days=3), 3)  # A-2 closed after this window
    assert earlier.series == {"stale": [1, 1, 2]}  # wip opened after it


def test_decisions_after_retention_purged_the_oldest_count_only_what_is_left(any_store: Store) -> None:
    any_store.audit.record([decision(at(5)), decision(at(3, 6)), decision(at(3, 18), outcome=Outcome.FAILED)])
    any_store.audit.record([decision(at(1)), decision(at(1), rule=None, outcome=Outcome.SKIPPED)])
    assert decisions_by_outcome(any_store, END, 7).series["done"] == [0, 1, 0, 1, 0, 1, 0]
    assert any_store.audit.purge_before(at(3, 12)) == 2  # mid-day: that day keeps its later entry
    assert decisions_by_outcome(any_store, END, 7).series == {
        "done": [0, 0, 0, 0, 0, 1, 0],
        "failed": [0, 0, 0, 1, 0, 0, 0],
        "skipped": [0, 0, 0, 0, 0, 1, 0],
    }
    assert rule_hits(any_store, END, 7, ["stale"]).series == {"stale": [0, 0, 0, 1, 0, 1, 0]}


def test_decisions_logged_before_the_upgrade_are_charted_after_it(any_db_url: str) -> None:
    from alembic import command
    from sqlalchemy import create_engine, insert

    from integration.store.migrate import alembic_config, upgrade
    from integration.store.tables import audit_log

    command.downgrade(alembic_config(any_db_url), "0006")
    engine = create_engine(any_db_url)
    with engine.begin() as conn:
        conn.execute(insert(audit_log), [
            {"at": when, "tracker": "jira", "action": "add_labels", "outcome": "done", "reason": "r", "rule": rule}
            for when, rule in ((at(2, 23), "stale"), (at(2, 1), "stale"), (at(0), None))
        ])
    engine.dispose()
    upgrade(any_db_url)
    store = Store.connect(any_db_url)
    try:
        assert decisions_by_outcome(store, END, 3).series == {"done": [2, 0, 1]}
        assert rule_hits(store, END, 3, ["stale"]).series == {"stale": [2, 0, 0]}
    finally:
        store.engine.dispose()


def test_admin_axis_ticks_are_whole_and_evenly_spaced() -> None:
    chart = stacked_bars(["Nov 24", "Nov 25"], {"done": [5, 2]}, "Decisions")
    ticks = re.findall(r'text-anchor="end" fill="currentColor">([^<]+)<', chart.svg)
    assert ticks == ["0", "1", "2", "3", "4", "5"]


def test_svg_escapes_names_and_uses_no_inline_style() -> None:
    days = [date(2026, 11, 24), date(2026, 11, 25)]
    chart = line_chart([f"{d:%b %d}" for d in days], {"<script>x</script>": [1, 3]}, "Flagged")
    assert "<script>" not in chart.svg and "&lt;script&gt;x&lt;/script&gt;" in chart.svg
    assert "style=" not in chart.svg and "http" not in chart.svg.replace("http://www.w3.org/2000/svg", "")
    assert chart.legend == [("<script>x</script>", "#2f6fdf", 4)]
    assert chart.svg.count("<circle") == 2


def test_stacked_bars_draw_one_rect_per_nonzero_cell() -> None:
    days = [date(2026, 11, 23), date(2026, 11, 24), date(2026, 11, 25)]
    chart = stacked_bars(
        [f"{d:%b %d}" for d in days],
        {"done": [1, 0, 2], "failed": [0, 0, 1]},
        "Decisions",
        {"done": "#000000"},
    )
    assert chart.svg.count("<rect") == 3
    assert 'fill="#000000"' in chart.svg and "done · Nov 25: 2" in chart.svg


def test_empty_period_says_so() -> None:
    chart = stacked_bars(["Nov 25"], {}, "Decisions")
    assert "No data in this period" in chart.svg and chart.legend == []


def test_charts_page_renders_three_inline_svgs(app: Flask, admin: FlaskClient) -> None:
    store = app.extensions["flowkeeper"].services.store
    now = datetime.now(UTC)
    store.audit.record([decision(now, rule="started-without-assignee", outcome=Outcome.WOULD_DO)])
    page = admin.get("/admin/charts?days=14").get_data(as_text=True)
    assert page.count('<svg class="chart"') == 3
    assert "<strong>14 days</strong>" in page and "started-without-assignee" in page
    data = admin.get("/admin/charts.json?days=7").json
    assert len(data["outcomes"]["days"]) == 7 and data["outcomes"]["series"] == {"would_do": [0] * 6 + [1]}
    assert len(admin.get("/admin/charts.json?days=365").json["hits"]["days"]) == 30  # unknown range → 30
    weekly = admin.get("/admin/charts.json?days=90").json["outcomes"]
    assert weekly["step_days"] == 7 and len(weekly["days"]) == 13 and weekly["series"]["would_do"][-1] == 1
    assert "Rule decisions per week" in admin.get("/admin/charts?days=90").get_data(as_text=True)


def test_long_periods_are_counted_per_week(any_store: Store) -> None:
    any_store.audit.record(
        [decision(at(0)), decision(at(6)), decision(at(7)), decision(at(13, 23)), decision(at(14))]
    )
    any_store.rule_states.apply(
        "jira", "A-1", "A-1", "live", [EpisodeTransition("stale", EpisodeChange.OPEN, 1)], [], at(10)
    )
    weekly = decisions_by_outcome(any_store, END, 35)
    assert weekly.step == 7 and weekly.days[0] == date(2026, 10, 22) and weekly.ends[-1] == date(2026, 11, 25)
    assert weekly.labels() == ["Oct 22–28", "Oct 29–Nov 04", "Nov 05–11", "Nov 12–18", "Nov 19–25"]
    assert weekly.series == {"done": [0, 0, 1, 2, 2]}
    assert flagged_over_time(any_store, END, 35).series == {"stale": [0, 0, 0, 1, 1]}
