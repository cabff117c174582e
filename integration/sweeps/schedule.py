"""When a rule's sweep is due: cron expressions in the rule's timezone, or fixed intervals.

Pure: every function takes `now`. The same arithmetic serves RQ's cron scheduler (next
run time) and the embedded scheduler (is a run due?), and decides the smallest gap
between two runs so that two scheduler processes firing the same tick run it once.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from croniter import croniter

from integration.settings_sweeps import SweepSettings
from rules.model import Tracker

EMBEDDED_POLL_SECONDS = 30.0  # how often the embedded default's clock looks for due sweeps


@dataclass(frozen=True)
class Schedule:
    """A cron expression (wall clock in `tz`) or a fixed interval."""

    every: str | timedelta
    tz: str = "UTC"

    def describe(self) -> str:
        if isinstance(self.every, str):
            return f"cron '{self.every}' ({self.tz})"
        minutes = int(self.every.total_seconds() // 60)
        if minutes % 60:
            return f"every {minutes} minutes"
        return "every hour" if minutes == 60 else f"every {minutes // 60} hours"

    def next_after(self, moment: datetime) -> datetime:
        """The first tick strictly after `moment` (aware UTC in, aware UTC out)."""
        if isinstance(self.every, timedelta):
            return _aligned(moment, self.every) + self.every
        local = moment.astimezone(ZoneInfo(self.tz))
        it = croniter(self.every, local)
        while True:
            candidate = it.get_next(datetime).astimezone(UTC)
            if candidate > moment:
                return candidate

    def latest_at_or_before(self, moment: datetime) -> datetime:
        """The last tick at or before `moment`: the slot a run started at `moment` belongs to."""
        if isinstance(self.every, timedelta):
            return _aligned(moment, self.every)
        local = moment.astimezone(ZoneInfo(self.tz)) + timedelta(microseconds=1)
        return croniter(self.every, local).get_prev(datetime).astimezone(UTC)

    def same_slot(self, last_started: datetime, now: datetime) -> bool:
        """Whether a run started at `last_started` already served the tick `now` belongs to.

        Cron: it started at or after the latest tick. Interval: less than half an interval
        ago (RQ's interval jobs are not aligned, so two schedulers fire a little apart).
        """
        if isinstance(self.every, timedelta):
            return now - last_started < self.every / 2
        return last_started >= self.latest_at_or_before(now)

    def is_due(self, last_started: datetime | None, now: datetime) -> bool:
        """A run is due when none started since the latest tick (or none ever ran)."""
        if last_started is None:
            return True
        if isinstance(self.every, timedelta):
            return now - last_started >= self.every
        return last_started < self.latest_at_or_before(now)


def _aligned(moment: datetime, every: timedelta) -> datetime:
    """Interval ticks aligned to the epoch, so every process agrees where a slot starts."""
    seconds = every.total_seconds()
    stamp = moment.timestamp()
    return datetime.fromtimestamp(stamp - stamp % seconds, UTC)


def rule_schedule(rule: object, settings: SweepSettings) -> Schedule | None:
    """The rule's own schedule, the global default, or None for rules without a schedule trigger."""
    if "schedule" not in getattr(rule, "triggers", ()):
        return None
    every = getattr(rule, "schedule", None) or settings.default_schedule
    return Schedule(every, getattr(rule, "timezone", None) or "UTC")


@dataclass(frozen=True)
class SweepTarget:
    """One sweep to schedule: a rule on one tracker that has credentials."""

    rule: str
    tracker: str
    schedule: Schedule


def sweep_targets(ruleset: object, configured: set[str], settings: SweepSettings) -> Iterator[SweepTarget]:
    """Every (rule, tracker) a scheduler should run: scheduled, tracker configured.

    Rules disabled in their file stay in: an admin override may enable them, and the
    sweep itself checks whether its rule is enabled when it starts.
    """
    for rule in getattr(ruleset, "rules", ()):
        schedule = rule_schedule(rule, settings)
        if schedule is None:
            continue
        for tracker in sorted(t.value if isinstance(t, Tracker) else str(t) for t in rule.trackers):
            if tracker in configured:
                yield SweepTarget(rule.name, tracker, schedule)


def why_no_sweeps(ruleset: object, configured: set[str], settings: SweepSettings) -> str | None:
    """Why a scheduler has no sweep to run, in words an operator can act on; None when it has one."""
    if next(sweep_targets(ruleset, configured, settings), None) is not None:
        return None
    scheduled = [r for r in getattr(ruleset, "rules", ()) if rule_schedule(r, settings) is not None]
    if not scheduled:
        return "no rule has the `schedule` trigger (`on: [schedule]`), so there is nothing to sweep for"
    if not configured:
        return ("no tracker has credentials (JIRA_URL, JIRA_USER and JIRA_API_TOKEN, or LINEAR_API_KEY), "
                "so there is nothing to search")
    named = sorted({t.value if isinstance(t, Tracker) else str(t) for r in scheduled for t in r.trackers})
    return (f"the scheduled rules ({', '.join(sorted(r.name for r in scheduled))}) name only {' and '.join(named)}, "
            f"which has no credentials (configured: {', '.join(sorted(configured))})")


def describe_targets(targets: list[SweepTarget], limit: int = 6) -> str:
    """'stalled-in-progress on jira every 30 minutes, …': what a scheduler registered."""
    shown = [f"{t.rule} on {t.tracker} {t.schedule.describe()}" for t in targets[:limit]]
    more = f" and {len(targets) - limit} more" if len(targets) > limit else ""
    return ", ".join(shown) + more
