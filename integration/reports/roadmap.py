"""Roadmap view: Jira epics and Linear projects with progress, flagged work and slip risk.

The forecast finish and the chance of meeting the target come from the Monte Carlo
simulation of the team's daily throughput over the report period (see `forecast`): one
simulation per team serves all its epics. It assumes the team's whole throughput goes
to each epic, an optimistic bound, which is exactly what a planning meeting needs to see.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, and_, case, func, or_, select

from integration.reports.forecast import History, TeamKey, team_histories
from integration.reports.montecarlo import SEED, TRIALS, Finish, Throughput, finish_days
from integration.reports.scope import NO_CATALOG, RuleCatalog, Scope, item_filter
from integration.store.completions import Completion
from integration.store.tables import items as i
from integration.store.tables import rule_states as rs

TargetKey = tuple[str, str]  # (tracker, project name)
LIKELY, EVEN = 0.85, 0.5  # chance of meeting the target: low risk from 85 %, medium from 50 %


@dataclass(frozen=True)
class RoadmapRow:
    tracker: str
    project: str
    epic_key: str | None
    team: str | None
    target: date | None
    total: int
    done: int
    in_progress: int
    stalled: int
    flagged: int
    weekly_throughput: float
    forecast_p50: date | None
    forecast_p85: date | None
    on_time: float | None  # chance of finishing by the target date
    days_left: int | None  # forecast days through the target date (the target day counts)
    risk: str

    @property
    def remaining(self) -> int:
        return self.total - self.done

    @property
    def progress(self) -> float:
        return round(self.done / self.total, 3) if self.total else 0.0


@dataclass(frozen=True)
class Outlook:
    """One epic's forecast: finish dates at 50 and 85 %, chance of meeting the target, and the risk."""

    p50: date | None = None
    p85: date | None = None
    on_time: float | None = None
    risk: str = "done"


def outlook(history: History, finish: Finish | None, target: date | None) -> Outlook:
    """done · unknown (history too short) · no target · late · high · medium · low."""
    if finish is not None and finish.items <= 0:
        return Outlook()
    if finish is None or history.throughput.too_short():
        return Outlook(risk="unknown")
    p50, p85 = history.finish_date(finish.at(50)), history.finish_date(finish.at(85))
    if target is None:
        return Outlook(p50, p85, None, "no target")
    days = history.days_until(target)
    if days < 1:
        return Outlook(p50, p85, 0.0, "late")
    chance = round(finish.probability_within(days), 3)
    return Outlook(p50, p85, chance, "low" if chance >= LIKELY else "medium" if chance >= EVEN else "high")


def _groups(conn: Connection, scope: Scope, catalog: RuleCatalog) -> list[Any]:
    stalled_rule = case((rs.c.rule.in_(sorted(catalog.stalled_rules)), 1), else_=0)
    flags = (
        select(rs.c.tracker, rs.c.item_id, func.max(stalled_rule).label("stalled"))
        .where(rs.c.active.is_(True)).group_by(rs.c.tracker, rs.c.item_id).subquery()
    )
    project, parent = i.c.project, i.c.parent  # columns the mirror keeps: no JSON parsed per item
    category = i.c.status_category
    base = (
        select(i.c.tracker, project.label("project"), parent.label("parent"), i.c.team,
               case((category == "done", 1), else_=0).label("done"),
               case((category == "in_progress", 1), else_=0).label("active"),
               func.coalesce(flags.c.stalled, 0).label("stalled"),
               case((flags.c.item_id.is_(None), 0), else_=1).label("flagged"))
        .select_from(i.outerjoin(flags, and_(flags.c.tracker == i.c.tracker, flags.c.item_id == i.c.item_id)))
        .where(item_filter(i, scope), project.is_not(None), or_(category.is_(None), category != "canceled"))
        .subquery()
    )
    return list(conn.execute(
        select(base.c.tracker, base.c.project, func.max(base.c.parent), func.min(base.c.team), func.count(),
               func.sum(base.c.done), func.sum(base.c.active), func.sum(base.c.stalled),
               func.sum(base.c.flagged))
        .group_by(base.c.tracker, base.c.project).order_by(base.c.tracker, base.c.project)
    ).all())


def _epic_targets(conn: Connection, keys: list[str]) -> dict[str, date]:
    """A Jira epic's due date is its target date (epics are items in the mirror)."""
    if not keys:
        return {}
    rows = conn.execute(select(i.c.key, i.c.data["due_date"].as_string())
                        .where(i.c.tracker == "jira", i.c.key.in_(keys))).all()
    return {key: date.fromisoformat(value) for key, value in rows if value}


def _finishes(histories: Mapping[TeamKey, History], remaining: Mapping[TeamKey, list[int]], trials: int,
              seed: int) -> dict[TeamKey, dict[int, Finish]]:
    """One simulation per team, answering for every epic's remaining count at once."""
    return {key: finish_days(histories[key].throughput, counts, trials=trials, seed=seed, key=histories[key].key)
            for key, counts in remaining.items() if key in histories and not histories[key].throughput.too_short()}


def roadmap(conn: Connection, scope: Scope, catalog: RuleCatalog = NO_CATALOG,
            targets: Mapping[TargetKey, date] | None = None, *, trials: int = TRIALS,
            seed: int = SEED, completed: Sequence[Completion] | None = None,
            seen: Mapping[TeamKey, datetime] | None = None,
            done_days: Mapping[TeamKey, Counter[date]] | None = None) -> tuple[RoadmapRow, ...]:
    """One row per epic/project of the scope; canceled items are left out of totals.

    `completed`, `seen`, `done_days`: the scope's completed items, its teams' first items and their
    completions per day, when the caller has them.
    """
    groups = _groups(conn, scope, catalog)
    epics = _epic_targets(conn, sorted({g[2] for g in groups if g[0] == "jira" and g[2]}))
    histories = team_histories(conn, scope, completed, seen, done_days)
    remaining: dict[TeamKey, list[int]] = defaultdict(list)
    for tracker, _project, _parent, team, total, done, *_ in groups:
        remaining[(tracker, team)].append(int(total) - int(done or 0))
    finishes = _finishes(histories, remaining, trials, seed)
    out = []
    for tracker, project, parent, team, total, done, active, stalled, flagged in groups:
        epic = parent if tracker == "jira" else None
        target = (targets or {}).get((tracker, project)) or (epics.get(epic) if epic else None)
        history = histories.get((tracker, team)) or History(scope.until.date(), scope.until.date(), Throughput(()))
        left = int(total) - int(done or 0)
        finish = finishes.get((tracker, team), {}).get(left) if left else None
        look = outlook(history, finish, target) if left else Outlook()
        per_week = history.throughput.completed * 7 / max(1, history.throughput.days)
        out.append(RoadmapRow(tracker, project, epic, team, target, int(total), int(done or 0), int(active or 0),
                              int(stalled or 0), int(flagged or 0), round(per_week, 2), look.p50, look.p85,
                              look.on_time, history.days_until(target) if target else None, look.risk))
    return tuple(out)
