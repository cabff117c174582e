"""Flow efficiency: the share of cycle time an item spent being worked on rather than waiting.

For each item completed in the period with a cycle time, every status stay between its
first start and its last entry into done counts as active or waiting. Waiting: a stay
in a to-do status (moved back), in done or canceled before a reopen, or in an
in-progress status the team marks as waiting — by default any whose name says so
("In Review", "Blocked", "Waiting for QA", "On Hold"…). A team's own list replaces the
name rule for its in-progress statuses.
"""

from __future__ import annotations

import re
import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, and_, select

from integration.reports.context import Context
from integration.reports.dataset import Chart, Dataset
from integration.reports.scope import days
from integration.store.completions import STATUS_FIELDS, Completion
from integration.store.tables import item_history as h
from integration.store.tables import items as i

WAITING_NAMES = re.compile(
    r"\b(review|reviewing|blocked|waiting|wait|hold|paused|pending|queued?|ready for|awaiting|parked)\b",
    re.IGNORECASE)
ALL_TEAMS = "*"
KEY_CHUNK = 500  # keys per IN list


@dataclass(frozen=True)
class Waiting:
    """Which statuses count as waiting, per team (`*`: every team without its own list)."""

    names: Mapping[str, frozenset[str]]

    @classmethod
    def of(cls, configured: Mapping[str, Iterable[str]]) -> Waiting:
        return cls({team: frozenset(n.casefold() for n in names) for team, names in configured.items()})

    def waits(self, team: str | None, status: str, category: str) -> bool:
        if category != "in_progress":
            return True  # moved back to to-do, or done/canceled before a reopen
        listed = self.names.get(team or "") or self.names.get(ALL_TEAMS)
        return status.casefold() in listed if listed is not None else bool(WAITING_NAMES.search(status))


@dataclass(frozen=True)
class Stay:
    status: str
    category: str
    seconds: float


@dataclass(frozen=True)
class Efficiency:
    by_status: Mapping[tuple[str, str, bool], float]  # (status, category, waiting) → seconds
    per_item: tuple[float, ...]  # each item's active share

    @property
    def active(self) -> float:
        return sum(s for (_, _, waiting), s in self.by_status.items() if not waiting)

    @property
    def total(self) -> float:
        return sum(self.by_status.values())

    @property
    def share(self) -> float | None:
        return round(self.active / self.total, 3) if self.total else None


def cycle_stays(moves: Sequence[tuple[datetime, str, str]], started: datetime, done: datetime) -> list[Stay]:
    """The stays (status, category, seconds) of one item's history clipped to [started, done]."""
    out = []
    for (at, status, category), nxt in zip(moves, [*moves[1:], None], strict=True):
        end = nxt[0] if nxt is not None else done
        seconds = (min(end, done) - max(at, started)).total_seconds()
        if seconds > 0:
            out.append(Stay(status, category, seconds))
    return out


Move = tuple[datetime, str, str]  # (at, status, category)
Histories = Mapping[tuple[str, str], tuple[str | None, list[Move]]]  # (tracker, key) → (team, moves)


def measure(histories: Histories, done: Iterable[Completion], waiting: Waiting) -> Efficiency:
    """Active and waiting time per status over the cycle of each completed item."""
    by_status: dict[tuple[str, str, bool], float] = defaultdict(float)
    per_item = []
    for c in done:
        team, moves = histories.get((c.tracker, c.key), (c.team, []))
        if c.cycle_s is None or not moves:
            continue
        started = c.done_at - timedelta(seconds=c.cycle_s)
        stays = cycle_stays(moves, started, c.done_at)
        active = 0.0
        for s in stays:
            waits = waiting.waits(team, s.status, s.category)
            by_status[(s.status, s.category, waits)] += s.seconds
            active += 0 if waits else s.seconds
        total = sum(s.seconds for s in stays)
        if total:
            per_item.append(active / total)
    return Efficiency(dict(by_status), tuple(per_item))


def status_histories(conn: Connection, done: Sequence[Completion]) -> Histories:
    """(tracker, key) → (team, [(at, status, category)…]) for the given items, oldest first."""
    out: dict[tuple[str, str], tuple[str | None, list[Move]]] = {}
    keys: dict[str, list[str]] = defaultdict(list)
    for c in done:
        keys[c.tracker].append(c.key)
    for tracker, names in keys.items():
        for n in range(0, len(names), KEY_CHUNK):
            query = (
                select(i.c.key, i.c.team, h.c.at, h.c.new, h.c.new_category)
                .select_from(h.join(i, and_(i.c.tracker == h.c.tracker, i.c.item_id == h.c.item_id)))
                .where(i.c.tracker == tracker, i.c.key.in_(names[n:n + KEY_CHUNK]), h.c.field.in_(STATUS_FIELDS))
                .order_by(i.c.key, h.c.at, h.c.id)
            )
            for key, team, at, status, category in conn.execute(query):
                out.setdefault((tracker, key), (team, []))[1].append(
                    (at, status or "(no status)", category or "unknown"))
    return out


def efficiency_section(conn: Connection, ctx: Context) -> list[Dataset]:
    done = [c for c in ctx.flow(conn).items if c.cycle_s is not None]
    eff = measure(status_histories(conn, done), done, Waiting.of(ctx.ask.waiting))
    rows = sorted(eff.by_status.items(), key=lambda kv: (-kv[1], kv[0]))
    median = statistics.median(eff.per_item) if eff.per_item else None
    return [Dataset(
        "flow_efficiency", "Flow efficiency: cycle time active and waiting, by status", "time_in_status",
        ("status", "category", "kind", "item_days", "share"),
        tuple((status, category, "waiting" if waits else "active", days(seconds),
               round(seconds / eff.total, 3)) for (status, category, waits), seconds in rows),
        Chart("hbar", "status", ("item_days",), "item-days"),
        {"efficiency": eff.share, "items": len(eff.per_item),
         "median_item_efficiency": round(median, 3) if median is not None else None,
         "active_days": days(eff.active), "waiting_days": days(eff.total - eff.active)},
        note="Items completed in the period, from first start to done. Waiting: to-do or done statuses "
             "in between, and in-progress statuses marked waiting (by default names like review, blocked, "
             "waiting, on hold).", open_table=True)]
