"""Stays kept at write time give exactly the figures the window over the history gave.

Random histories — moves backwards, reopens, finishes without a start, several rows at the
same instant, rows arriving late and out of order, redeliveries — written through the
mirror's real write paths (one webhook's entries, a sync page's), on SQLite and PostgreSQL.
Then every status row's `ended_at` is the next status row's time, and WIP by day, the
cumulative flow's bands, time in status and flow efficiency equal the former window-function
queries' (tests/reports/window_reference.py).
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from alembic import command
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, insert, select

from integration.reports import efficiency, flow, wip
from integration.reports.scope import Scope
from integration.store import cycle_stays, first_starts, stay_days
from integration.store.completions import STATUS_FIELDS
from integration.store.kept_start import fill_missing
from integration.store.migrate import alembic_config, upgrade
from integration.store.mirror import HistoryEntry, history_row
from integration.store.mirror_bulk import record_history_many, store_page
from integration.store.store import Store
from integration.store.tables import item_history as h
from rules.model import ActorKind, Item, Tracker
from tests.reports import window_reference as before
from tests.reports.builder import CATEGORIES, day, status

NAMES = sorted(CATEGORIES)
PROPERTY = settings(max_examples=40, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
serial = itertools.count()


@dataclass(frozen=True)
class Row:
    at: float  # days after T0, in quarter days: many rows share an instant
    field: str
    name: str


@dataclass(frozen=True)
class Story:
    """One item: its rows, its current status (None: the last row's), its creation, whether deleted."""

    rows: tuple[Row, ...]
    current: str | None
    created: float | None  # None: the tracker gave no creation time (lead time counts from the first row)
    deleted: bool


quarter = st.integers(-48, 48).map(lambda n: n / 4)
rows = st.builds(Row, quarter, st.sampled_from(["status", "status", "status", "created", "labels"]),
                 st.sampled_from(NAMES))
stories = st.builds(Story, st.lists(rows, max_size=8).map(tuple), st.none() | st.sampled_from(NAMES),
                    st.none() | quarter,
                    st.sampled_from([False, False, False, True]))


@dataclass(frozen=True)
class Written:
    team: str
    items: tuple[Item, ...]
    other: str = ""  # the team items move to and back from


def entry(row: Row) -> HistoryEntry:
    if row.field == "labels":
        return HistoryEntry(at=day(row.at), field="labels", actor_kind=ActorKind.HUMAN, new=row.name)
    return HistoryEntry(at=day(row.at), field=row.field, actor_kind=ActorKind.HUMAN, new=row.name,
                        new_category=CATEGORIES[row.name])


# what happens to an item between history writes: a team move (there, back), a delete, an undelete;
# through one webhook's write or a sync page's
changes = st.tuples(st.sampled_from(["there", "back", "delete", "undelete"]), st.booleans())


def write(store: Store, stories: list[Story], data: st.DataObject, moves: bool = False) -> Written:
    """Items, then their rows in a random order and random batches, through both write paths.

    `moves`: items are also first stored at a random point (history may come first, as a sync
    page writes it), and moved between two teams, deleted and undeleted between the batches."""
    team = f"T{next(serial)}"
    other = f"{team}b"
    made, pending = [], []
    steps: list[tuple[int, str, bool]] = []
    for n, story in enumerate(stories):
        last = max((r for r in story.rows if r.field != "labels"), key=lambda r: r.at, default=None)
        name = story.current or (last.name if last else "To Do")
        item = Item(tracker=Tracker.JIRA, id=f"{team}-{n}", key=f"{team}-{n}", title="t", team=team,
                    status=status(name), updated_at=day(48),
                    created_at=None if story.created is None else day(story.created))
        made.append(item)
        pending += [(item, entry(r)) for r in story.rows]
        if moves:
            steps += [(n, kind, bulk) for kind, bulk in data.draw(st.lists(changes, max_size=3))]
        else:
            store.mirror.upsert(item, day(48))
            if story.deleted:
                store.mirror.mark_deleted(item, day(48))
    if moves:  # each item stored first, at a random point among its changes; deleted last if its story says so
        steps = data.draw(st.permutations(steps))
        for n, story in enumerate(stories):
            steps.insert(data.draw(st.integers(0, len(steps))), (n, "store", data.draw(st.booleans())))
            if story.deleted:
                steps.append((n, "delete", False))
    pending = data.draw(st.permutations(pending))
    pending += data.draw(st.lists(st.sampled_from(pending), max_size=3)) if pending else []  # redeliveries
    state = {n: (team, False) for n in range(len(made))}
    stamp = itertools.count(1)
    while pending or steps:
        if steps and (not pending or data.draw(st.booleans())):
            n, kind, bulk = steps.pop(0)
            _change(store, made[n], kind, bulk, state, other, day(48) + timedelta(seconds=next(stamp)))
            continue
        size = data.draw(st.integers(1, len(pending)))
        batch, pending = pending[:size], pending[size:]
        if data.draw(st.booleans()):  # a sync page: many items in one transaction
            with store.engine.begin() as conn:
                record_history_many(conn, "jira", batch)
        else:  # webhooks: one item's entries at a time
            for item, group in itertools.groupby(batch, key=lambda pair: pair[0]):
                store.mirror.record_history("jira", item, [e for _, e in group])
    return Written(team, tuple(made), other)


def _change(store: Store, item: Item, kind: str, bulk: bool, state: dict[int, tuple[str, bool]], other: str,
            when: datetime) -> None:
    """Store, move, delete or undelete item `item` (its team and deleted flag kept in `state`)."""
    n = int(item.id.rsplit("-", 1)[1])
    team, deleted = state[n]
    if kind == "delete":
        store.mirror.mark_deleted(item.with_fields(team=team, updated_at=when), when)
        state[n] = (team, True)
        return
    team = {"there": other, "back": str(item.team)}.get(kind, team)
    deleted = False if kind == "undelete" else deleted
    version = item.with_fields(team=team, deleted=deleted, updated_at=when)
    if bulk:
        store_page(store, "jira", [version], [], when)
    else:
        store.mirror.upsert(version, when)
    state[n] = (team, deleted)


def expected_ends(store: Store, team: str) -> dict[int, datetime | None]:
    """Each status row's end by the definition: the item's next status row in (at, id) order."""
    query = (select(h.c.id, h.c.item_id, h.c.at).where(h.c.team == team, h.c.field.in_(STATUS_FIELDS))
             .order_by(h.c.item_id, h.c.at, h.c.id))
    with store.engine.connect() as conn:
        found = conn.execute(query).all()
    out: dict[int, datetime | None] = {}
    for _, group in itertools.groupby(found, key=lambda r: r.item_id):
        ordered = list(group)
        for row, following in itertools.zip_longest(ordered, ordered[1:]):
            out[row.id] = following.at if following else None
    return out


def kept_ends(store: Store, team: str) -> dict[int, datetime | None]:
    query = select(h.c.id, h.c.ended_at).where(h.c.team == team, h.c.field.in_(STATUS_FIELDS))
    with store.engine.connect() as conn:
        return {row.id: row.ended_at for row in conn.execute(query)}


@given(stories=st.lists(stories, min_size=1, max_size=4), data=st.data())
@PROPERTY
def test_every_write_keeps_each_stay_ended_at_the_next_status_row(any_store: Store, stories: list[Story],
                                                                    data: st.DataObject) -> None:
    written = write(any_store, stories, data)
    assert kept_ends(any_store, written.team) == expected_ends(any_store, written.team)


def _completions(found: list[Any]) -> list[Any]:
    return sorted(found, key=lambda c: (c.tracker, c.key))


def _rounded(times: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    return sorted((*t[:-1], round(t[-1], 3)) for t in times)


def _efficiencies(conn: Connection, scope: Scope, team: str) -> tuple[Any, Any]:
    """Flow efficiency summed in the database, and measured from the window's rows, with the default
    waiting statuses and with the team's own list (rounded: the sums run in another order)."""
    def shown(eff: efficiency.Efficiency) -> tuple[Any, ...]:
        return (sorted((k, round(v, 3)) for k, v in eff.by_status.items()), sorted(round(x, 6) for x in eff.per_item))

    waitings = (efficiency.Waiting.of({}), efficiency.Waiting.of({team: ("in progress",)}))
    return ([shown(efficiency.summed(conn, scope, w)) for w in waitings],
            [shown(efficiency.measure(before.cycle_time_by_status(conn, scope), w)) for w in waitings])


@given(stories=st.lists(stories, min_size=1, max_size=4), data=st.data(),
       since=st.integers(-40, 40).map(lambda n: n / 2), length=st.integers(1, 40).map(lambda n: n / 2))
@PROPERTY
def test_period_figures_equal_the_window_over_the_history(any_store: Store, stories: list[Story],
                                                          data: st.DataObject, since: float, length: float) -> None:
    written = write(any_store, stories, data)
    scope = Scope(day(since), day(since + length), teams=(written.team,))
    with any_store.engine.connect() as conn:
        assert wip.levels_daily(conn, scope, wip.FLOW_BANDS, fresh=("done",)) == \
            before.levels_daily(conn, scope, wip.FLOW_BANDS, fresh=("done",))
        assert wip.levels_daily(conn, scope, (wip.IN_PROGRESS,)) == before.levels_daily(conn, scope, (wip.IN_PROGRESS,))
        assert wip.time_in_status(conn, scope) == before.time_in_status(conn, scope)
        assert _rounded(efficiency.cycle_time_by_status(conn, scope)) == \
            _rounded(before.cycle_time_by_status(conn, scope))
        summed, measured = _efficiencies(conn, scope, written.team)
        assert summed == measured
        assert _completions(flow.completed_items(conn, scope)) == _completions(before.completed_items(conn, scope))


@given(stories=st.lists(stories, min_size=1, max_size=4), data=st.data(),
       since=st.integers(-40, 40).map(lambda n: n / 2), length=st.integers(1, 40).map(lambda n: n / 2))
@PROPERTY
def test_daily_levels_follow_team_moves_deletes_and_late_rows(any_store: Store, stories: list[Story],
                                                              data: st.DataObject, since: float,
                                                              length: float) -> None:
    """The daily counts kept at write time follow each item's current team and deleted flag, whatever
    the order of its history, its moves and its deletes: the levels equal the window over the history,
    for a team, the team items moved to, both, and all teams, and so does flow efficiency; and the counts,
    and each item's seconds per status over its cycle, equal a count from scratch."""
    written = write(any_store, stories, data, moves=True)
    with any_store.engine.connect() as conn:
        for teams in ((written.team,), (written.other,), (written.team, written.other), ()):
            scope = Scope(day(since), day(since + length), teams=teams)
            assert wip.levels_daily(conn, scope, wip.FLOW_BANDS, fresh=("done",)) == \
                before.levels_daily(conn, scope, wip.FLOW_BANDS, fresh=("done",))
            assert wip.levels_daily(conn, scope, (wip.IN_PROGRESS,)) == \
                before.levels_daily(conn, scope, (wip.IN_PROGRESS,))
            assert wip.time_in_status(conn, scope) == before.time_in_status(conn, scope)
            assert _rounded(efficiency.cycle_time_by_status(conn, scope)) == \
                _rounded(before.cycle_time_by_status(conn, scope))
            summed, measured = _efficiencies(conn, scope, written.team)
            assert summed == measured
            assert _completions(flow.completed_items(conn, scope)) == \
                _completions(before.completed_items(conn, scope))
        assert stay_days.kept(conn) == stay_days.expected(conn)
        assert stay_days.kept(conn, stay_days.TIMES) == stay_days.counted(conn, stay_days.TIMES)
        assert cycle_stays.kept(conn) == cycle_stays.expected(conn)
        assert first_starts.kept(conn) == first_starts.expected(conn)


def test_the_migration_fills_the_history_already_kept(any_db_url: str) -> None:
    """Rows written before the column existed get their ends when the schema is upgraded, and items their
    cycle's seconds per status when the new release starts."""
    config = alembic_config(any_db_url)
    command.downgrade(config, "0007")
    story = [(3, "created", "To Do"), (5, "status", "In Progress"), (5, "status", "In Review"),
             (2, "status", "Done"), (9, "labels", "x"), (7, "status", "In Progress"), (7, "created", "To Do")]
    item = Item(tracker=Tracker.JIRA, id="M-1", key="M-1", title="t", team="MIG", status=status("Done"))
    rows = [history_row("jira", item, entry(Row(at, field, name))) for at, field, name in story]
    done = Item(tracker=Tracker.JIRA, id="M-2", key="M-2", title="t", team="MIG2", status=status("Done"))
    cycle = [(0, "created", "To Do"), (1, "status", "In Progress"), (2, "status", "In Review"), (4, "status", "Done")]
    rows += [history_row("jira", done, entry(Row(at, field, name))) for at, field, name in cycle]
    store = Store.connect(any_db_url)
    try:
        with store.engine.begin() as conn:
            for row in rows:  # one at a time, in this order: ids follow it
                conn.execute(insert(h).values(**row))
        upgrade(any_db_url)
        assert kept_ends(store, "MIG") == expected_ends(store, "MIG")
        assert fill_missing(store.engine) == ["cycles", "first_starts"]  # as the release's first process starts
        ends = sorted((e for e in kept_ends(store, "MIG").values()), key=lambda e: (e is None, e))
        assert ends == [day(3), day(5), day(5), day(7), day(7), None]
        with store.engine.connect() as conn:  # M-1 starts after its finish: no time in a cycle
            assert cycle_stays.kept(conn) == ({
                ("jira", "M-2", "In Progress", "in_progress"): (day(4), 86400.0),
                ("jira", "M-2", "In Review", "in_progress"): (day(4), 2 * 86400.0)},
                {("jira", "M-1"): (day(2), day(5), day(2)), ("jira", "M-2"): (day(0), day(1), day(4))})
    finally:
        upgrade(any_db_url)
        store.engine.dispose()


def test_a_late_row_splits_the_stay_it_falls_in(any_store: Store) -> None:
    """A webhook that arrives after a later change still ends the stay before it and is ended by the next."""
    item = Item(tracker=Tracker.JIRA, id="L-1", key="L-1", title="t", team="LATE", status=status("Done"))
    any_store.mirror.upsert(item, day(10))
    mirror = any_store.mirror
    mirror.record_history("jira", item, [entry(Row(0, "created", "To Do")), entry(Row(4, "status", "Done"))])
    mirror.record_history("jira", item, [entry(Row(2, "status", "In Progress"))])
    query = select(h.c.new, h.c.ended_at).where(h.c.team == "LATE").order_by(h.c.at)
    with any_store.engine.connect() as conn:
        assert [tuple(r) for r in conn.execute(query)] == [("To Do", day(2)), ("In Progress", day(4)), ("Done", None)]


def test_a_completion_without_a_creation_time_leads_from_its_first_row_even_one_that_came_late(
        any_store: Store) -> None:
    """Cycle and lead time come from the times kept at write time, recomputed as older rows arrive."""
    item = Item(tracker=Tracker.JIRA, id="N-1", key="N-1", title="t", team="NOCREATE", status=status("Done"))
    any_store.mirror.upsert(item, day(10))
    for row in (Row(4, "status", "Done"), Row(2, "status", "In Progress"), Row(1, "created", "To Do")):
        any_store.mirror.record_history("jira", item, [entry(row)])
    scope = Scope(day(0), day(5), teams=("NOCREATE",))
    with any_store.engine.connect() as conn:
        found = flow.completed_items(conn, scope)
        assert found == before.completed_items(conn, scope)
    assert [(c.key, c.done_at, c.cycle_s, c.lead_s) for c in found] == [("N-1", day(4), 2 * 86400.0, 3 * 86400.0)]


def test_an_item_back_in_a_status_is_one_item_with_both_stays_days(any_store: Store) -> None:
    """Time in status counts items, not stays, and a status without a category waits as "unknown"."""
    item = Item(tracker=Tracker.JIRA, id="B-1", key="B-1", title="t", team="BACK", status=status("Done"))
    any_store.mirror.upsert(item, day(10))
    back = [entry(Row(0, "status", "In Progress")), entry(Row(1, "status", "In Review")),
            entry(Row(2, "status", "In Progress")),
            HistoryEntry(at=day(3.5), field="status", actor_kind=ActorKind.HUMAN, new="Triage", new_category=None),
            entry(Row(5, "status", "Done"))]
    any_store.mirror.record_history("jira", item, back)
    scope = Scope(day(-1), day(8), teams=("BACK",))
    with any_store.engine.connect() as conn:
        found = wip.time_in_status(conn, scope)
        assert found == before.time_in_status(conn, scope)
    assert {(t.status, t.category): (t.item_days, t.items) for t in found} == {
        ("In Progress", "in_progress"): (2.5, 1), ("In Review", "in_progress"): (1.0, 1),
        ("Triage", "unknown"): (1.5, 1)}


def test_items_back_in_a_status_count_once_whenever_they_left_it(any_store: Store) -> None:
    """Time in status from the kept counts on a period starting and ending mid-day: an item that left a
    status on the period's first day after it began and came back counts once, one that left before
    it began or just as it began counts for its return alone, so does one that comes back on the last,
    partial day, a stay that ends as it begins counts for nothing (nor as a time the item left the status),
    and stays begun before the period count from its start."""
    stories = {
        "A": [(0.25, "In Progress"), (1.5, "In Review"), (2.75, "In Progress"), (12.5, "Done")],
        "B": [(0.5, "In Progress"), (1.0, "In Review"), (3.0, "In Progress"), (4.0, "Done")],
        "C": [(0.5, "In Progress"), (1.25, "Blocked"), (10.25, "In Progress")],
        "D": [(2.0, "In Progress"), (3.0, "Blocked"), (10.25, "In Progress")],
        "E": [(2.0, "In Review"), (4.0, "To Do"), (5.0, "In Review"), (5.0, "In Progress"), (6.0, "Done")],
        "F": [(-3.0, "In Progress")],
        "G": [(-3.0, "Blocked"), (4.0, "Done")],
        "I": [(0.5, "In Review"), (1.25, "Blocked"), (2.0, "In Review"), (3.0, "Done")],
        "J": [(2.0, "To Do"), (10.25, "In Review"), (10.25, "Blocked")],
        "H": [(0.5, "In Review"), (1.0, "To Do"), (3.0, "In Review"), (3.0, "In Progress"), (4.0, "In Review"),
              (6.0, "Done")],
    }
    for name, rows in stories.items():
        item = Item(tracker=Tracker.JIRA, id=f"E-{name}", key=f"E-{name}", title="t", team="EDGE",
                    status=status(rows[-1][1]), created_at=day(-5))
        any_store.mirror.upsert(item, day(20))
        any_store.mirror.record_history("jira", item, [entry(Row(at, "status", new)) for at, new in rows])
    scope = Scope(day(1.25), day(10.5), teams=("EDGE",))
    with any_store.engine.connect() as conn:
        found = wip.time_in_status(conn, scope)
        assert found == before.time_in_status(conn, scope)
    assert {(t.status, t.item_days, t.items) for t in found} == {
        ("In Progress", 9.25 + (0.25 + 7.75) + 1.0 + 0.25 + (1.0 + 0.25) + 1.0 + 1.0, 7),  # F, A, B, C, D, E, H
        ("Blocked", 9.0 + 2.75 + 7.25 + 0.75 + 0.25, 5),  # C, G, D, I, J
        # A, B, E, H, I (E's second stay and H's second end as they begin: H's third is no return; I left
        # In Review as the period began)
        ("In Review", 1.25 + 1.75 + 2.0 + 2.0 + 1.0, 5),
        ("To Do", 1.0 + 1.75 + 8.25, 3),  # E, H, J (J's stay in review on the last day ends as it begins)
    }


@pytest.mark.parametrize("gap", [timedelta(0), timedelta(microseconds=1)])
def test_rows_at_the_same_instant_end_in_the_order_they_were_written(any_store: Store, gap: timedelta) -> None:
    item = Item(tracker=Tracker.JIRA, id="S-1", key="S-1", title="t", team="SAME", status=status("Done"))
    any_store.mirror.upsert(item, day(10))
    at = day(1)
    any_store.mirror.record_history("jira", item, [
        HistoryEntry(at=at, field="status", actor_kind=ActorKind.HUMAN, new="In Progress",
                     new_category=CATEGORIES["In Progress"]),
        HistoryEntry(at=at + gap, field="status", actor_kind=ActorKind.HUMAN, new="Done",
                     new_category=CATEGORIES["Done"])])
    query = select(h.c.new, h.c.ended_at).where(h.c.team == "SAME").order_by(h.c.id)
    with any_store.engine.connect() as conn:
        assert [tuple(r) for r in conn.execute(query)] == [("In Progress", at + gap), ("Done", None)]



@pytest.mark.postgres
def test_two_writers_of_one_item_at_once_leave_its_stays_right(postgres_database: str) -> None:
    """A sync page and a webhook writing one item's history in overlapping transactions: the later
    writer waits for the earlier one's stays and then sees its row."""
    store = Store.connect(postgres_database)
    item = Item(tracker=Tracker.JIRA, id="C-1", key="C-1", title="t", team="RACE", status=status("Done"))
    try:
        store.mirror.record_history("jira", item, [entry(Row(0, "created", "To Do"))])
        first = store.engine.connect()
        transaction = first.begin()
        record_history_many(first, "jira", [(item, entry(Row(2, "status", "Done")))])
        second = threading.Thread(target=store.mirror.record_history,
                                  args=("jira", item, [entry(Row(1, "status", "In Progress"))]))
        second.start()
        second.join(0.5)  # waits for the first writer's turn to end
        transaction.commit()
        first.close()
        second.join(10)
        assert kept_ends(store, "RACE") == expected_ends(store, "RACE")
    finally:
        store.engine.dispose()


@pytest.mark.postgres
def test_a_team_move_during_a_history_write_moves_the_rows_that_write_adds(postgres_database: str) -> None:
    """A sync page writing an item's history while a webhook moves the item to another team: the
    move waits for the page's turn, then moves the daily counts the page added too."""
    store = Store.connect(postgres_database)
    item = Item(tracker=Tracker.JIRA, id="M-2", key="M-2", title="t", team="HOME", status=status("In Progress"),
                updated_at=day(10))
    try:
        store.mirror.upsert(item, day(10))
        store.mirror.record_history("jira", item, [entry(Row(0, "created", "To Do"))])
        first = store.engine.connect()
        transaction = first.begin()
        record_history_many(first, "jira", [(item, entry(Row(2, "status", "In Progress")))])
        moved = item.with_fields(team="AWAY", updated_at=day(11))
        second = threading.Thread(target=store.mirror.upsert, args=(moved, day(11)))
        second.start()
        second.join(0.5)  # waits for the page's turn to end
        transaction.commit()
        first.close()
        second.join(10)
        with store.engine.connect() as conn:
            assert stay_days.kept(conn) == stay_days.expected(conn)
            away = Scope(day(-1), day(4), teams=("AWAY",))
            assert wip.levels_daily(conn, away, (wip.IN_PROGRESS,)) == before.levels_daily(conn, away,
                                                                                           (wip.IN_PROGRESS,))
    finally:
        store.engine.dispose()
