"""History an older release wrote beside an upgrade (without the figures kept for the reports) is
found by `flowkeeper db figures` and made whole by `--rebuild`, on both backends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert, select

from integration.cli import main
from integration.store import cycle_stays, first_starts, stay_days
from integration.store.mirror import HistoryEntry, history_row
from integration.store.store import Store
from integration.store.tables import item_history
from rules.model import ActorKind, Status, StatusCategory
from tests.foundation.test_store import item

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def status(at: datetime, name: str, category: StatusCategory) -> HistoryEntry:
    return HistoryEntry(at=at, field="status", actor_kind=ActorKind.HUMAN, new=name, new_category=category)


def test_history_written_without_the_kept_figures_is_found_and_rebuilt(
    any_db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", any_db_url)
    store = Store.connect(any_db_url)
    try:
        it = item(status=Status("Done", StatusCategory.DONE))
        store.mirror.upsert(it, T0)
        store.mirror.record_history("jira", it, [status(T0, "In Progress", StatusCategory.IN_PROGRESS),
                                                 status(T0 + timedelta(days=2), "In Review", StatusCategory.IN_PROGRESS)])
        assert main(["db", "figures"]) == 0, "the figures this release kept equal the history's"
        # an older release finishes the item: its row goes in, none of the figures kept for it
        with store.engine.begin() as conn:
            conn.execute(insert(item_history), history_row("jira", it, status(T0 + timedelta(days=3), "Done",
                                                                               StatusCategory.DONE)))
        capsys.readouterr()
        assert main(["db", "figures"]) == 1
        assert "differs from the history: cycles" in capsys.readouterr().out
        assert main(["db", "figures", "--rebuild"]) == 0
        with store.engine.connect() as conn:
            ends = dict(conn.execute(select(item_history.c.new, item_history.c.ended_at)).all())
            assert stay_days.kept(conn) == stay_days.expected(conn)
            seconds, spans = cycle_stays.kept(conn)
        assert {key[2]: total for key, (_, total) in seconds.items()} == {"In Progress": 2 * 86400.0,
                                                                          "In Review": 86400.0}
        assert len(spans) == 1, "the item now counts as completed"
        assert [ends["In Review"], ends["Done"]] == [T0 + timedelta(days=3), None], "In Review ended as Done began"
    finally:
        store.engine.dispose()


def test_an_earlier_start_an_older_release_wrote_is_found_and_rebuilt(
    any_db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", any_db_url)
    store = Store.connect(any_db_url)
    try:
        it = item(status=Status("In Progress", StatusCategory.IN_PROGRESS))
        store.mirror.upsert(it, T0)
        store.mirror.record_history("jira", it, [status(T0 + timedelta(days=5), "In Progress",
                                                        StatusCategory.IN_PROGRESS)])
        with store.engine.connect() as conn:
            assert list(first_starts.kept(conn).values()) == [T0 + timedelta(days=5)], "kept by the write"
        # an older release records a start before it: aging would count the item's age from too late
        with store.engine.begin() as conn:
            conn.execute(insert(item_history), history_row("jira", it, status(T0, "In Progress",
                                                                               StatusCategory.IN_PROGRESS)))
        capsys.readouterr()
        assert main(["db", "figures"]) == 1
        assert "first starts" in capsys.readouterr().out
        assert main(["db", "figures", "--rebuild"]) == 0
        with store.engine.connect() as conn:
            assert list(first_starts.kept(conn).values()) == [T0]
    finally:
        store.engine.dispose()
