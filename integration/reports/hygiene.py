"""Rule hygiene: are the process rules helping? Flags opened and cleared, time to fix, false positives.

A flag is one episode of a rule on an item, read from the executor's audit entries
(identity `rule/episode/step/kind`): it opens at its first write (or "would do") and
clears at its `close` write, or when the rule state closed that episode. Each entry keeps
its episode and whether it clears, cut from the identity when written
(integration.store.flag_keys); an entry written by an older release is cut here, the same way.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    String,
    Subquery,
    and_,
    case,
    cast,
    exists,
    func,
    literal,
    or_,
    select,
    tuple_,
)

from integration.reports.flow import duration_stats
from integration.reports.scope import (
    NO_CATALOG,
    RuleCatalog,
    Scope,
    item_filter,
    week_index_of,
    week_start,
)
from integration.reports.sqlfuncs import epoch, strpos
from integration.store.flags import DIGEST_PREFIX, flag_join, flagged_now
from integration.store.tables import audit_log as a
from integration.store.tables import first_starts as fs
from integration.store.tables import item_history as h
from integration.store.tables import items as i
from integration.store.tables import rule_states as rs

WRITE_ACTIONS = ("comment", "add_labels", "remove_labels")
UNDO_WINDOW_S = 86400


@dataclass(frozen=True)
class RuleHygiene:
    rule: str
    opened: int
    cleared: int
    fix_p50_days: float | None
    fix_p85_days: float | None
    flagged_live: int
    flagged_dry: int
    flags_set: int  # live label flags set in the period
    undone_in_a_day: int

    @property
    def undone_share(self) -> float | None:
        return round(self.undone_in_a_day / self.flags_set, 3) if self.flags_set else None


@dataclass(frozen=True)
class Compliance:
    started: int
    with_assignee: int
    with_estimate: int
    with_both: int

    def share(self, n: int) -> float | None:
        return round(n / self.started, 3) if self.started else None


@dataclass(frozen=True)
class Episode:
    rule: str
    opened_at: datetime | None  # None: opened before anything was recorded
    cleared_at: datetime | None


def episodes_query(scope: Scope) -> Select:  # type: ignore[type-arg]
    """One row per (item, rule, mode, episode) opened or cleared in the period.

    Grouped on the item's integer key, the rule and the episode kept with each write
    (integration.store.flag_keys): few, short keys keep the grouping cheap on both backends.
    """
    episode, closing = _flag_key()
    writes = (
        select(i.c.id.label("item"), i.c.tracker, i.c.item_id, a.c.rule, a.c.at,
               case((a.c.outcome == "would_do", "dry"), else_="live").label("mode"),
               episode.label("episode"), closing.label("closing"))
        .select_from(a.join(i, and_(i.c.tracker == a.c.tracker, i.c.key == a.c.item_key)))
        .where(_flag_write(), a.c.at < scope.until, item_filter(i, scope), _moved_in(scope))
        .subquery("writes")
    )
    grouped = (
        select(writes.c.item, writes.c.rule, writes.c.mode, writes.c.episode,
               func.min(writes.c.tracker).label("tracker"), func.min(writes.c.item_id).label("item_id"),
               func.min(case((writes.c.closing == 0, writes.c.at))).label("opened_at"),
               func.min(case((writes.c.closing == 1, writes.c.at))).label("closed_at"))
        .group_by(writes.c.item, writes.c.rule, writes.c.mode, writes.c.episode)
        .subquery("grouped")
    )
    state = and_(rs.c.tracker == grouped.c.tracker, rs.c.item_id == grouped.c.item_id,
                 rs.c.rule == grouped.c.rule, rs.c.mode == grouped.c.mode,
                 cast(rs.c.episode, String) == grouped.c.episode, rs.c.active.is_(False))
    cleared = func.coalesce(grouped.c.closed_at, rs.c.closed_at)
    return (
        select(grouped.c.rule, grouped.c.opened_at, cleared.label("cleared_at"))
        .select_from(grouped.outerjoin(rs, state))
        .where(or_(_in(grouped.c.opened_at, scope), _in(cleared, scope)))
    )


def _flag_key() -> tuple[ColumnElement[Any], ColumnElement[int]]:
    """A write's episode, and 1 when it clears its flag (step "close-<rung>", "close" in older entries):
    kept with the entry, or cut from its identity for an entry written before they were kept."""
    rest = func.substr(a.c.detail["identity"].as_string(), func.length(a.c.rule) + 2)  # "episode/step/kind"
    cut_episode = case((strpos(rest, "/") > 0, func.substr(rest, 1, strpos(rest, "/") - 1)),
                       (rest.is_not(None), ""))
    unkept = a.c.clears.is_(None)
    episode = case((unkept, cut_episode), else_=a.c.episode)
    closing = case((unkept, case((strpos(rest, "/close-") + strpos(rest, "/close/") > 0, 1), else_=0)),
                   (a.c.clears.is_(True), 1), else_=0)
    return episode, closing


def _flag_write() -> ColumnElement[bool]:
    """An audit entry that opens, escalates or clears a flag (live, or "would do" in dry run)."""
    return and_(a.c.rule.is_not(None), ~a.c.rule.startswith(DIGEST_PREFIX), a.c.outcome.in_(("done", "would_do")),
                a.c.action.in_(WRITE_ACTIONS))


def _moved_in(scope: Scope) -> ColumnElement[bool]:
    """The writes of a rule on an item whose flags moved in the period: a write in it, or a rule state
    closed in it. An episode opened or cleared in the period is one of theirs; the rest of the log
    (years of it) is left unread."""
    wrote = select(a.c.tracker, a.c.item_key, a.c.rule).where(_flag_write(), _in(a.c.at, scope))
    closed = select(rs.c.tracker, rs.c.item_id, rs.c.rule).where(rs.c.active.is_(False), _in(rs.c.closed_at, scope))
    return or_(tuple_(a.c.tracker, a.c.item_key, a.c.rule).in_(wrote),
               tuple_(i.c.tracker, i.c.item_id, a.c.rule).in_(closed))


def episode_rows(conn: Connection, scope: Scope) -> list[Episode]:
    return [Episode(r.rule, r.opened_at, r.cleared_at) for r in conn.execute(episodes_query(scope))]


def _in(column: ColumnElement[Any], scope: Scope) -> ColumnElement[bool]:
    return and_(column >= scope.since, column < scope.until)


def _within(moment: datetime | None, scope: Scope) -> bool:
    return moment is not None and scope.since <= moment < scope.until


def weekly_flags(conn: Connection, scope: Scope,
                 episodes: list[Episode] | None = None) -> tuple[tuple[date, str, int, int], ...]:
    """(week, rule, opened, cleared) for every week and rule with any."""
    counts: dict[tuple[int, str], list[int]] = defaultdict(lambda: [0, 0])
    for e in episodes if episodes is not None else episode_rows(conn, scope):
        for slot, moment in enumerate((e.opened_at, e.cleared_at)):
            if moment is not None and _within(moment, scope):
                counts[(week_index_of(moment), e.rule)][slot] += 1
    return tuple((week_start(w), rule, o, c) for (w, rule), (o, c) in sorted(counts.items()))


def hygiene(conn: Connection, scope: Scope, catalog: RuleCatalog = NO_CATALOG,
            episodes: list[Episode] | None = None) -> tuple[RuleHygiene, ...]:
    """Per rule: flags opened, cleared, time to fix, flagged now, undone by a person within a day."""
    eps = episodes if episodes is not None else episode_rows(conn, scope)
    opened: Counter[str] = Counter(e.rule for e in eps if _within(e.opened_at, scope))
    cleared = [e for e in eps if _within(e.cleared_at, scope)]
    fixes: dict[str, list[float | None]] = defaultdict(list)
    for e in cleared:
        if e.opened_at is not None and e.cleared_at is not None:
            fixes[e.rule].append((e.cleared_at - e.opened_at).total_seconds())
    fix = {rule: duration_stats(values) for rule, values in fixes.items()}
    flagged = _flagged_now(conn, scope)
    undone = _undone(conn, scope, catalog)
    rules = sorted(set(opened) | {e.rule for e in cleared} | set(flagged) | set(undone))
    return tuple(
        RuleHygiene(
            rule=r, opened=opened[r], cleared=sum(1 for e in cleared if e.rule == r),
            fix_p50_days=fix[r].p50 if r in fix else None, fix_p85_days=fix[r].p85 if r in fix else None,
            flagged_live=flagged.get(r, {}).get("live", 0), flagged_dry=flagged.get(r, {}).get("dry", 0),
            flags_set=undone.get(r, (0, 0))[0], undone_in_a_day=undone.get(r, (0, 0))[1],
        )
        for r in rules
    )


def _flagged_now(conn: Connection, scope: Scope) -> dict[str, dict[str, int]]:
    """Per rule and mode, flagged now (integration.store.flags: the Flagged page counts the same)."""
    query = (
        select(rs.c.rule, rs.c.mode, func.count())
        .select_from(flag_join())
        .where(flagged_now(scope.trackers, scope.teams))
        .group_by(rs.c.rule, rs.c.mode)
    )
    out: dict[str, dict[str, int]] = defaultdict(dict)
    for rule, mode, n in conn.execute(query):
        out[rule][mode] = int(n)
    return out


def _undone(conn: Connection, scope: Scope, catalog: RuleCatalog) -> dict[str, tuple[int, int]]:
    """Live flag labels set in the period, and how many a person took off within a day."""
    label = a.c.detail[("labels", 0)].as_string()
    removed = exists().where(
        h.c.tracker == i.c.tracker, h.c.item_id == i.c.item_id, h.c.field == "labels",
        h.c.actor_kind == "human", h.c.at >= a.c.at, epoch(h.c.at) <= epoch(a.c.at) + UNDO_WINDOW_S,
        strpos(literal(" ") + func.coalesce(h.c.old, "") + " ", literal(" -") + label + " ") > 0,
    )
    flags = (
        select(a.c.rule, case((removed, 1), else_=0).label("undone"))
        .select_from(a.join(i, and_(i.c.tracker == a.c.tracker, i.c.key == a.c.item_key)))
        .where(a.c.action == "add_labels", a.c.outcome == "done", a.c.rule.is_not(None), _in(a.c.at, scope),
               item_filter(i, scope), _flag_label(label, catalog))
        .subquery()
    )
    rows = conn.execute(select(flags.c.rule, func.count(), func.sum(flags.c.undone)).group_by(flags.c.rule))
    return {rule: (int(n), int(u or 0)) for rule, n, u in rows}


def _flag_label(label: object, catalog: RuleCatalog):  # type: ignore[no-untyped-def]
    """With a rule catalog, only the rules' flag labels count; without one, every label a rule added."""
    pairs = [and_(a.c.rule == rule, label.in_(labels))  # type: ignore[attr-defined]
             for rule, labels in catalog.flag_labels.items()]
    return or_(*pairs) if pairs else literal(True)


def compliance(conn: Connection, scope: Scope) -> Compliance:
    """Items first started in the period: how many carry an assignee and an estimate now."""
    started = _first_started(scope)
    assigned, estimated = started.c.assignee_id.is_not(None), started.c.estimate.is_not(None)
    row = conn.execute(
        select(func.count(), func.sum(case((assigned, 1), else_=0)), func.sum(case((estimated, 1), else_=0)),
               func.sum(case((and_(assigned, estimated), 1), else_=0)))
        .select_from(started)
    ).one()
    return Compliance(*(int(v or 0) for v in row))


def _first_started(scope: Scope) -> Subquery:
    """(assignee_id, estimate) of the items whose first start falls in the period: a range of the first
    starts kept at write time (integration.store.first_starts), whatever the period's length."""
    return (
        select(i.c.assignee_id, i.c.estimate)
        .select_from(fs.join(i, and_(i.c.tracker == fs.c.tracker, i.c.item_id == fs.c.item_id)))
        .where(_in(fs.c.started_at, scope), item_filter(i, scope))
        .subquery("started")
    )
