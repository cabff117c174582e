"""Forecasts from the team's own history: daily throughput, "when will N be done", "how many by".

The history is the items completed on each whole UTC day of the report period (the
period's partial days are left out, and so are the days before the scope's first item
existed, which would read as idle days). The simulation itself is in `montecarlo`.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import Connection, String, func, select

from integration.reports.context import Context
from integration.reports.dataset import Chart, Dataset
from integration.reports.lastdone import completed, last_done
from integration.reports.montecarlo import CONFIDENCES, Count, Finish, Throughput, forecast
from integration.reports.scope import Scope, ScopeError, item_filter, midnight
from integration.reports.wip import wip_now
from integration.store.completions import Completion
from integration.store.portable import PortableFunction
from integration.store.tables import items as i

DAY = timedelta(days=1)
DEFAULT_BY = timedelta(days=14)
TeamKey = tuple[str, str | None]  # (tracker, team)
ALL_TEAMS = "all"


@dataclass(frozen=True)
class History:
    """Whole days [start, end) and the items completed on each."""

    start: date
    end: date  # the first forecast day
    throughput: Throughput
    key: str = ALL_TEAMS  # which trials forecast it: a team's own, or the whole scope's

    def describe(self) -> str:
        t = self.throughput
        return f"{self.start:%Y-%m-%d} → {self.end - DAY:%Y-%m-%d}: {t.completed} items in {t.days} days"

    def finish_date(self, days: int | None) -> date | None:
        """Day 1 of a forecast is `end`: an item done within 1 day is done on `end`."""
        return None if days is None else self.end + (days - 1) * DAY

    def days_until(self, moment: date) -> int:
        """Whole days from `end` through `moment` (inclusive); 0 or less when it is already past."""
        return (moment - self.end).days + 1


def _whole_days(scope: Scope, first_seen: datetime | None) -> tuple[date, date]:
    start = midnight(scope.since) + (DAY if scope.since != midnight(scope.since) else timedelta(0))
    if first_seen is not None:
        start = max(start, midnight(first_seen))
    end = midnight(scope.until)
    return start.date(), max(start, end).date()


def first_seen(conn: Connection, scope: Scope) -> dict[TeamKey, datetime]:
    """When each (tracker, team) of the scope had its first item: its history starts no earlier."""
    query = select(i.c.tracker, i.c.team, func.min(i.c.created_at)).where(item_filter(i, scope)).group_by(
        i.c.tracker, i.c.team)
    return {(tracker, team): at for tracker, team, at in conn.execute(query) if at is not None}


def report_first_seen(conn: Connection, ctx: Context) -> dict[TeamKey, datetime]:
    """`first_seen`, read once per report: the forecasts and the roadmap both start from it."""
    return ctx.once("first_seen", lambda: first_seen(conn, ctx.scope))


def team_key(team: TeamKey) -> str:
    """The simulation key of a team's history: its forecasts read the same trials in every report."""
    return f"{team[0]}/{team[1]}"


def _history(done_days: Counter[date], start: date, end: date, key: str) -> History:
    days = (end - start).days
    return History(start, end, Throughput(tuple(done_days.get(start + n * DAY, 0) for n in range(days))), key)


class utc_day(PortableFunction, default="CAST(({}) AT TIME ZONE 'UTC' AS DATE)", sqlite="substr({}, 1, 10)",
              result=String()):
    """The UTC day of a UTC timestamp column, exactly (SQLite keeps them as ISO text)."""


def team_done_days(conn: Connection, scope: Scope,
                   done: Sequence[Completion] | None = None) -> dict[TeamKey, Counter[date]]:
    """Items completed on each whole UTC day of the scope, per (tracker, team).

    `done`: the scope's completions when the report reads them anyway (flow, aging); an item
    completes at its last entry into done, so those of the whole days are the period's that fall
    in them. Without, the database counts them, a row per team and day, read lean (`lastdone`).
    """
    start, end = _whole_days(scope, None)
    since, until = (datetime.combine(d, datetime.min.time(), UTC) for d in (start, end))
    out: dict[TeamKey, Counter[date]] = defaultdict(Counter)
    if start >= end:
        return out
    if done is not None:
        for c in done:
            if since <= c.done_at < until:
                out[(c.tracker, c.team)][c.done_at.date()] += 1
        return out
    last = last_done(since)
    day = utc_day(last.c.done_at)
    joined, keep = completed(last, scope, until)
    query = select(i.c.tracker, i.c.team, day, func.count()).select_from(joined).where(keep).group_by(
        i.c.tracker, i.c.team, day)
    for tracker, team, on, n in conn.execute(query):
        out[(tracker, team)][on if isinstance(on, date) else date.fromisoformat(on)] += int(n)
    return out


def report_done_days(conn: Connection, ctx: Context) -> dict[TeamKey, Counter[date]]:
    """`team_done_days`, counted once per report, from the completions when another section reads them."""
    def count() -> dict[TeamKey, Counter[date]]:
        reads_completions = "completed" in ctx.cache or "flow" in ctx.sections
        return team_done_days(conn, ctx.scope, ctx.completed(conn) if reads_completions else None)

    return ctx.once("done_days", count)


def scope_history(conn: Connection, scope: Scope, done: Sequence[Completion] | None = None,
                  seen: Mapping[TeamKey, datetime] | None = None,
                  done_days: Mapping[TeamKey, Counter[date]] | None = None) -> History:
    """The scope's daily throughput, all its teams and trackers together (`done`: its completions,
    `seen`: its teams' `first_seen`, `done_days`: their `team_done_days`, when known)."""
    seen = first_seen(conn, scope) if seen is None else seen
    start, end = _whole_days(scope, min(seen.values(), default=None))
    days = team_done_days(conn, scope, done) if done_days is None else done_days
    together: Counter[date] = Counter()
    for counts in days.values():
        together.update(counts)
    key = team_key(next(iter(seen))) if len(seen) == 1 else ALL_TEAMS  # one team: its roadmap's trials
    return _history(together, start, end, key)


def team_histories(conn: Connection, scope: Scope, done: Sequence[Completion] | None = None,
                   seen: Mapping[TeamKey, datetime] | None = None,
                   done_days: Mapping[TeamKey, Counter[date]] | None = None) -> dict[TeamKey, History]:
    """Each (tracker, team)'s daily throughput over the scope's whole days (the rest as in `scope_history`)."""
    seen = first_seen(conn, scope) if seen is None else seen
    days = team_done_days(conn, scope, done) if done_days is None else done_days
    out = {}
    for key, first in seen.items():
        team_start, team_end = _whole_days(scope, first)
        out[key] = _history(days.get(key, Counter()), team_start, team_end, team_key(key))
    return out


def _confidence_rows(history: History, finish: Finish) -> tuple[tuple[str, int | None, date | None], ...]:
    return tuple((f"{c}%", finish.at(c), history.finish_date(finish.at(c))) for c in CONFIDENCES)


def _refs(values: dict[int, float | None]) -> tuple[tuple[str, float], ...]:
    return tuple((f"{c}%", float(v)) for c, v in values.items() if v is not None)


def forecast_section(conn: Connection, ctx: Context) -> list[Dataset]:
    history = scope_history(conn, ctx.scope, seen=report_first_seen(conn, ctx), done_days=report_done_days(conn, ctx))
    ask = ctx.ask
    items = ask.items if ask.items is not None else wip_now(conn, ctx.scope).total
    by = ask.by or history.end + DEFAULT_BY - DAY
    if history.days_until(by) < 1:
        raise ScopeError(f"the forecast date {by} is before the first forecast day {history.end}")
    too_short = history.throughput.too_short()
    daily = Dataset(
        "throughput_daily", "Throughput per day (the forecasts' history)", "forecast", ("day", "completed"),
        tuple((history.start + n * DAY, v) for n, v in enumerate(history.throughput.daily)),
        Chart("bar", "day", ("completed",), "items"),
        {"days": history.throughput.days, "completed": history.throughput.completed,
         "per_day": round(history.throughput.completed / max(1, history.throughput.days), 2)},
        note=too_short or history.describe(), brief=True)
    if too_short:
        return [daily, *_empty(items, by, too_short)]
    answer = forecast(history.throughput, [items], history.days_until(by), trials=ask.trials, seed=ask.seed,
                      key=history.key)
    return [daily, *_when(history, answer.finishes[items], ask.trials, ask.seed),
            *_how_many(history, answer.count, by)]


def _empty(items: int, by: date, reason: str) -> list[Dataset]:
    return [Dataset("forecast_when", f"When will {items} items be done?", "forecast",
                    ("confidence", "days", "date"), (), summary={"items": items}, note=reason),
            Dataset("forecast_how_many", f"How many items by {by:%Y-%m-%d}?", "forecast",
                    ("confidence", "items"), (), summary={"by": by}, note=reason)]


def _when(history: History, finish: Finish, trials: int, seed: int) -> list[Dataset]:
    refs = _refs({c: finish.at(c) for c in CONFIDENCES})
    method = (f"{trials:,} trials (seed {seed}), each drawing days at random from {history.describe()}. "
              "Day 1 is the first day after the history.")
    return [
        Dataset("forecast_when", f"When will {finish.items} items be done?", "forecast",
                ("confidence", "days", "date"), _confidence_rows(history, finish),
                summary={"items": finish.items, "trials": trials, "seed": seed}, note=method, open_table=True),
        Dataset("forecast_when_distribution", f"Days to finish {finish.items} items, over {trials:,} trials",
                "forecast", ("days", "date", "trials"),
                tuple((d, history.finish_date(d), n) for d, n in finish.distribution()),
                Chart("bar", "days", ("trials",), "days", refs), brief=True),
    ]


def _how_many(history: History, count: Count, by: date) -> list[Dataset]:
    rows = tuple((f"{c}%", count.at(c)) for c in CONFIDENCES)
    return [
        Dataset("forecast_how_many", f"How many items by {by:%Y-%m-%d}?", "forecast", ("confidence", "items"),
                rows, summary={"by": by, "days": count.days},
                note="At least this many items, in this share of trials.", open_table=True),
        Dataset("forecast_how_many_distribution", f"Items finished by {by:%Y-%m-%d}, over the trials",
                "forecast", ("items", "trials"), count.distribution(),
                Chart("bar", "items", ("trials",), "items", _refs({c: count.at(c) for c in CONFIDENCES})),
                brief=True),
    ]
