"""The weekly team digest: stalled items, WIP against limits, cycle-time trend, rules firing.

`digest_figures` reads the store (SQL aggregates, like every report); `digest_markdown`
is pure and short enough to read in a tracker comment or a chat message.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import Connection, func, select

from integration.reports.aging import AgingItem, aging
from integration.reports.digest_config import DigestSpec
from integration.reports.flow import DurationStats, completed_items, duration_stats
from integration.reports.hygiene import RuleHygiene, hygiene
from integration.reports.roadmap import RoadmapRow, roadmap
from integration.reports.scope import RuleCatalog, Scope, days
from integration.reports.wip import WipNow, wip_now
from integration.store.flags import flag_join, flagged_now
from integration.store.tables import items as i
from integration.store.tables import rule_states as rs

WEEK = timedelta(days=7)
BASELINE = timedelta(days=28)
LISTED = 10
AT_RISK = ("high", "late")
AT_RISK_ZONES = ("p85–p95", "> p95")
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|#])")


@dataclass(frozen=True)
class FlaggedItem:
    key: str
    title: str
    status: str
    assignee: str
    rule: str
    days: float


@dataclass(frozen=True)
class DigestFigures:
    spec: DigestSpec
    start: datetime
    end: datetime
    stalled_known: bool  # False: no rule catalog, so every flag is listed
    stalled: tuple[FlaggedItem, ...]
    stalled_total: int
    wip: WipNow
    completed: int
    cycle_week: DurationStats
    cycle_before: DurationStats
    rules: tuple[RuleHygiene, ...]
    at_risk: AtRisk = field(default_factory=lambda: AtRisk())


@dataclass(frozen=True)
class AtRisk:
    """Epics unlikely to meet their target, and work older than the team's 85th percentile cycle time."""

    epics: tuple[RoadmapRow, ...] = ()  # risk high or late
    with_target: int = 0  # epics that have a target date at all
    items: tuple[AgingItem, ...] = ()
    items_total: int = 0
    cycle_p85: float | None = None


def at_risk(conn: Connection, history: Scope, catalog: RuleCatalog,
            targets: Mapping[tuple[str, str], date] | None) -> AtRisk:
    """From the same forecasts and percentiles as the Roadmap and Aging reports, over `history`."""
    done = completed_items(conn, history)
    rows = roadmap(conn, history, catalog, targets, completed=done)
    cycle = duration_stats(c.cycle_s for c in done)
    old = [a for a in aging(conn, history, cycle) if a.zone in AT_RISK_ZONES]
    return AtRisk(tuple(r for r in rows if r.risk in AT_RISK), sum(1 for r in rows if r.target is not None),
                  tuple(old[:LISTED]), len(old), cycle.p85)


def _stalled(conn: Connection, scope: Scope, catalog: RuleCatalog,
             now: datetime) -> tuple[list[FlaggedItem], int]:
    """Items flagged now (integration.store.flags: as the Flagged page and the reports count) by the
    stalled-work rules; every flag when there is no rule catalog."""
    where = flagged_now(scope.trackers, scope.teams, catalog.stalled_rules or None)
    flagged = (
        select(rs.c.item_key.label("key"), i.c.title, i.c.status_name,
               func.coalesce(i.c.assignee_name, i.c.assignee_id).label("who"),
               func.min(rs.c.rule).label("rule"), func.min(rs.c.opened_at).label("since"))
        .select_from(flag_join())
        .where(where)
        .group_by(rs.c.tracker, rs.c.item_key, i.c.title, i.c.status_name, i.c.assignee_name, i.c.assignee_id)
        .subquery()
    )
    total = int(conn.execute(select(func.count()).select_from(flagged)).scalar() or 0)
    rows = conn.execute(select(flagged).order_by(flagged.c.since, flagged.c.key).limit(LISTED)).all()
    return [FlaggedItem(r.key, r.title or "", r.status_name or "", r.who or "unassigned", r.rule,
                        days((now - r.since).total_seconds(), 1) or 0.0) for r in rows], total


def digest_figures(conn: Connection, spec: DigestSpec, catalog: RuleCatalog, now: datetime,
                   targets: Mapping[tuple[str, str], date] | None = None) -> DigestFigures:
    """The figures of one team's digest for the week ending `now`."""
    trackers = (spec.tracker,) if spec.tracker else ()
    week = Scope(now - WEEK, now, trackers, (spec.team,))
    before = Scope(now - WEEK - BASELINE, now - WEEK, trackers, (spec.team,))
    stalled, total = _stalled(conn, week, catalog, now)
    done_week = completed_items(conn, week)
    firing = sorted((r for r in hygiene(conn, week, catalog) if r.opened or r.flagged_live or r.flagged_dry),
                    key=lambda r: (-r.opened, -(r.flagged_live + r.flagged_dry), r.rule))
    return DigestFigures(
        spec=spec, start=week.since, end=now, stalled_known=bool(catalog.stalled_rules),
        stalled=tuple(stalled),
        stalled_total=total, wip=wip_now(conn, week), completed=len(done_week),
        cycle_week=duration_stats(c.cycle_s for c in done_week),
        cycle_before=duration_stats(c.cycle_s for c in completed_items(conn, before)),
        rules=tuple(firing[:5]),
        at_risk=at_risk(conn, Scope(before.since, now, trackers, (spec.team,)), catalog, targets),
    )


def safe(text: str, limit: int = 80) -> str:
    """Tracker text in a digest: one line, bounded, Markdown characters escaped."""
    one_line = " ".join(text.split())
    if len(one_line) > limit:
        one_line = one_line[: limit - 1] + "…"
    return _MD_SPECIAL.sub(r"\\\1", one_line)


def _trend(now: float | None, before: float | None) -> str:
    if now is None:
        return "no items finished this week"
    if before is None:
        return f"{now:g} d this week (no earlier weeks to compare)"
    if now < before:
        word = "faster"
    elif now > before:
        word = "slower"
    else:
        word = "unchanged"
    return f"{now:g} d this week vs {before:g} d over the 4 weeks before ({word})"


def digest_markdown(f: DigestFigures) -> str:
    """The digest as Markdown: four short parts, worst news first."""
    heading = "Stalled items" if f.stalled_known else "Flagged items"
    out = [f"**Flowkeeper weekly digest — {safe(f.spec.name)}** ({f.start:%Y-%m-%d} → {f.end:%Y-%m-%d})", ""]
    out.append(f"**{heading}: {f.stalled_total}**")
    out += [f"- {safe(s.key, 32)} {safe(s.title)} — {safe(s.status, 40)}, flagged {s.days:g} d, "
            f"{safe(s.assignee, 40)} ({safe(s.rule, 60)})" for s in f.stalled]
    if f.stalled_total > len(f.stalled):
        out.append(f"- …and {f.stalled_total - len(f.stalled)} more")
    limit = f.spec.wip_limit
    out += ["", f"**WIP: {f.wip.total} in progress**" + (f" (limit {limit} per person)" if limit else "")]
    for person, name, n in f.wip.by_assignee[:10]:
        over = f" — over the limit of {limit}" if limit and person is not None and n > limit else ""
        out.append(f"- {safe(name, 40)}: {n}{over}")
    done = f"{f.completed} item{'s' if f.completed != 1 else ''} done this week"
    out += ["", f"**Cycle time (p50):** {_trend(f.cycle_week.p50, f.cycle_before.p50)}; {done}"]
    out += ["", "**Top rules firing** (flags opened this week · flagged now)"]
    out += [f"- {safe(r.rule, 60)}: {r.opened} opened · {r.flagged_live + r.flagged_dry} flagged now"
            for r in f.rules] or ["- none"]
    return "\n".join(out + _at_risk_lines(f.at_risk)) + "\n"


def _at_risk_lines(r: AtRisk) -> list[str]:
    out = []
    if r.with_target:
        out += ["", f"**Epics at risk: {len(r.epics)} of {r.with_target} with a target date**"]
        out += [f"- {safe(e.project, 60)}{f' ({safe(e.epic_key, 32)})' if e.epic_key else ''}: target "
                f"{e.target:%Y-%m-%d}, " + ("late" if e.risk == "late" else f"{(e.on_time or 0) * 100:.0f}% "
                                            f"chance, 85% forecast {_day(e.forecast_p85)}")
                for e in r.epics] or ["- none"]
    if r.cycle_p85 is not None:
        out += ["", f"**Older than the team's 85th percentile cycle time ({r.cycle_p85:g} d): {r.items_total}**"]
        out += [f"- {safe(a.key, 32)} {safe(a.title)} — {safe(a.status, 40)}, {a.age_days:g} d, "
                f"{safe(a.assignee, 40)}" for a in r.items]
        if r.items_total > len(r.items):
            out.append(f"- …and {r.items_total - len(r.items)} more")
    return out


def _day(value: date | None) -> str:
    return f"{value:%Y-%m-%d}" if value else "beyond three years"
