"""Roadmap view: Jira epics and Linear projects with progress, flagged work and slip risk.

Slip risk compares the days the remaining items need at the team's recent throughput
with the days left before the target date. It is a rough, optimistic bound (the team
also works on other things), which is exactly what a planning meeting needs to see.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Connection, and_, case, func, or_, select

from integration.reports.flow import completed_items
from integration.reports.scope import NO_CATALOG, RuleCatalog, Scope, item_filter
from integration.store.tables import items as i
from integration.store.tables import rule_states as rs

THROUGHPUT_WINDOW = timedelta(days=28)
TargetKey = tuple[str, str]  # (tracker, project name)


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
    forecast_days: float | None
    days_left: int | None
    risk: str

    @property
    def remaining(self) -> int:
        return self.total - self.done

    @property
    def progress(self) -> float:
        return round(self.done / self.total, 3) if self.total else 0.0


def slip_risk(remaining: int, per_day: float, days_left: int | None) -> tuple[float | None, str]:
    """(forecast days, risk): done · no target · late · high · medium · low."""
    if remaining == 0:
        return 0.0, "done"
    forecast = remaining / per_day if per_day > 0 else math.inf
    if days_left is None:
        return _finite(forecast), "no target"
    if days_left < 0:
        return _finite(forecast), "late"
    if forecast > days_left:
        return _finite(forecast), "high"
    return _finite(forecast), "medium" if forecast > 0.8 * days_left else "low"


def _finite(value: float) -> float | None:
    return None if math.isinf(value) else round(value, 1)


def _groups(conn: Connection, scope: Scope, catalog: RuleCatalog) -> list[Any]:
    stalled_rule = case((rs.c.rule.in_(sorted(catalog.stalled_rules)), 1), else_=0)
    flags = (
        select(rs.c.tracker, rs.c.item_id, func.max(stalled_rule).label("stalled"))
        .where(rs.c.active.is_(True)).group_by(rs.c.tracker, rs.c.item_id).subquery()
    )
    project, parent = i.c.data["project"].as_string(), i.c.data["parent"].as_string()
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


def _throughput(conn: Connection, scope: Scope) -> dict[tuple[str, str | None], int]:
    recent = Scope(scope.until - THROUGHPUT_WINDOW, scope.until, scope.trackers, scope.teams)
    return dict(Counter((c.tracker, c.team) for c in completed_items(conn, recent)))


def roadmap(conn: Connection, scope: Scope, catalog: RuleCatalog = NO_CATALOG,
            targets: Mapping[TargetKey, date] | None = None) -> tuple[RoadmapRow, ...]:
    """One row per epic/project of the scope; canceled items are left out of totals."""
    groups = _groups(conn, scope, catalog)
    epics = _epic_targets(conn, sorted({g[2] for g in groups if g[0] == "jira" and g[2]}))
    throughput = _throughput(conn, scope)
    today = scope.until.date()
    out = []
    for tracker, project, parent, team, total, done, active, stalled, flagged in groups:
        epic = parent if tracker == "jira" else None
        target = (targets or {}).get((tracker, project)) or (epics.get(epic) if epic else None)
        per_week = throughput.get((tracker, team), 0) * 7 / THROUGHPUT_WINDOW.days
        days_left = (target - today).days if target else None
        forecast, risk = slip_risk(int(total) - int(done or 0), per_week / 7, days_left)
        out.append(RoadmapRow(tracker, project, epic, team, target, int(total), int(done or 0),
                              int(active or 0), int(stalled or 0), int(flagged or 0), round(per_week, 2),
                              forecast, days_left, risk))
    return tuple(out)
