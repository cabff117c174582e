"""The sweeps section of the settings: schedules, budgets, the blast-radius hold, commands.

Loaded with every other section by `integration.settings.load_settings` at start-up (a
bad value stops the process naming the variable); every process reads the same
variables, so a worker, the clock and the web process agree.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta

from integration.settings_values import SettingsError, env_int, text_of
from rules.durations import DurationError, parse_duration

DEFAULT_INTERVAL = timedelta(minutes=30)


@dataclass(frozen=True)
class CommandPolicy:
    """Who may send `/flowkeeper …` commands from a tracker comment."""

    anyone: bool = True
    assignee: bool = False
    reporter: bool = False
    people: frozenset[str] = frozenset()  # account ids, emails or display names, case-folded

    def describe(self) -> str:
        if self.anyone:
            return "anyone who can comment"
        who = [w for w, on in (("the assignee", self.assignee), ("the reporter", self.reporter)) if on]
        if self.people:
            who.append("the leads named in FLOWKEEPER_COMMANDS_FROM")
        return " or ".join(who) or "nobody"


@dataclass(frozen=True)
class SweepSettings:
    default_schedule: str | timedelta = DEFAULT_INTERVAL  # FLOWKEEPER_SWEEP_INTERVAL
    write_budget: int = 200  # tracker writes per run of one rule on one tracker
    page_size: int = 100
    blast_items: int = 25  # hold when a sweep would change more items than this …
    blast_share: float = 0.10  # … and more than this share of the open items in scope
    reconcile_every: timedelta | None = timedelta(hours=6)
    lock_seconds: int = 900  # a sweep's lock lives this long without a heartbeat
    snooze_max: timedelta = timedelta(days=90)
    commands: CommandPolicy = field(default_factory=CommandPolicy)


# Each variable of this section: the SweepSettings field it sets (its default is the field's) and
# what it means. docs/sweeps.md and the README's table are generated from this and the defaults
# (`python -m integration.reference --write`); a test fails while a variable read below is missing.
SWEEP_VARIABLES: tuple[tuple[str, str, str], ...] = (
    ("FLOWKEEPER_SWEEP_INTERVAL", "default_schedule",
     "schedule of rules that say `schedule` without their own; an interval or a cron expression"),
    ("FLOWKEEPER_SWEEP_WRITE_BUDGET", "write_budget", "tracker writes per run of one rule on one tracker"),
    ("FLOWKEEPER_SWEEP_PAGE_SIZE", "page_size", "items per search page (at most 100)"),
    ("FLOWKEEPER_BLAST_RADIUS_ITEMS", "blast_items",
     "hold a sweep that would change more items than the larger of this…"),
    ("FLOWKEEPER_BLAST_RADIUS_SHARE", "blast_share", "…and this share of the scope's open items"),
    ("FLOWKEEPER_RECONCILE_INTERVAL", "reconcile_every",
     "how often the mirror is reconciled with the tracker (`off` disables it)"),
    ("FLOWKEEPER_SWEEP_LOCK_SECONDS", "lock_seconds", "how long a sweep's lock lives without a heartbeat"),
    ("FLOWKEEPER_SNOOZE_MAX", "snooze_max", "the longest snooze a comment may ask for"),
    ("FLOWKEEPER_COMMANDS_FROM", "commands",
     "who may snooze or ignore: `anyone`, or e.g. `assignee,reporter,<account id>` — Jira matches account ids "
     "only (its webhooks carry no email address); Linear matches account ids and the user's email as Linear "
     "sends it; display names never count"),
)


def default_text(value: object) -> str:
    """A default as the variable is written: '30 minutes', '10%', '6 hours', 'anyone'."""
    if isinstance(value, timedelta):
        seconds = int(value.total_seconds())
        for unit, size in (("days", 86400), ("hours", 3600), ("minutes", 60)):
            if seconds % size == 0:
                return f"{seconds // size} {unit}"
        return f"{seconds} seconds"
    if isinstance(value, float):
        return f"{value * 100:g}%"
    if isinstance(value, CommandPolicy):
        return "anyone" if value.anyone else value.describe()
    return str(value)


def parse_schedule_text(raw: str, name: str) -> str | timedelta:
    """'every 30 minutes', '30 minutes', '1h' → an interval; anything else must be cron."""
    text = raw.strip()
    body = text[6:] if text.lower().startswith("every ") else text
    try:
        fixed = parse_duration(body).fixed
    except DurationError:
        fixed = None
    if fixed is not None:
        if fixed < timedelta(minutes=1):
            raise SettingsError(f"{name} must be at least one minute (got {raw!r})")
        return fixed
    from croniter import croniter

    if not croniter.is_valid(text):
        raise SettingsError(f"{name} must be an interval like '30 minutes' or a cron expression (got {raw!r})")
    return text


def _positive_int(env: Mapping[str, str], name: str, default: int, minimum: int = 1) -> int:
    return env_int(env, name, default, minimum)


def _share(env: Mapping[str, str], name: str, default: float) -> float:
    raw = text_of(env, name)
    if not raw:
        return default
    try:
        value = float(raw[:-1]) / 100 if raw.endswith("%") else float(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a share like 0.1 or 10% (got {raw!r})") from None
    if not 0 <= value <= 1:
        raise SettingsError(f"{name} must be between 0 and 1 (got {raw!r})")
    return value


def _period(env: Mapping[str, str], name: str, default: timedelta | None) -> timedelta | None:
    raw = text_of(env, name)
    if not raw:
        return default
    if raw.lower() in {"0", "off", "never"}:
        return None
    try:
        fixed = parse_duration(raw).fixed or timedelta(days=parse_duration(raw).days)
    except DurationError:
        raise SettingsError(f"{name} must be a duration like '6 hours', or 'off' (got {raw!r})") from None
    return fixed


def _commands(env: Mapping[str, str]) -> CommandPolicy:
    """`FLOWKEEPER_COMMANDS_FROM=assignee,lead@example.com` — unset or 'anyone' lets anyone."""
    parts = [p.strip() for p in text_of(env, "FLOWKEEPER_COMMANDS_FROM").split(",") if p.strip()]
    if not parts or any(p.lower() == "anyone" for p in parts):
        return CommandPolicy()
    lowered = [p.casefold() for p in parts]
    return CommandPolicy(
        anyone=False,
        assignee="assignee" in lowered,
        reporter="reporter" in lowered,
        people=frozenset(p for p in lowered if p not in {"assignee", "reporter"}),
    )


def load_sweep_settings(env: Mapping[str, str]) -> SweepSettings:
    """Read and validate the sweep variables; SettingsError names the first bad one."""
    raw_interval = text_of(env, "FLOWKEEPER_SWEEP_INTERVAL")
    return SweepSettings(
        default_schedule=parse_schedule_text(raw_interval, "FLOWKEEPER_SWEEP_INTERVAL")
        if raw_interval
        else DEFAULT_INTERVAL,
        write_budget=_positive_int(env, "FLOWKEEPER_SWEEP_WRITE_BUDGET", 200, minimum=0),
        page_size=min(_positive_int(env, "FLOWKEEPER_SWEEP_PAGE_SIZE", 100), 100),
        blast_items=_positive_int(env, "FLOWKEEPER_BLAST_RADIUS_ITEMS", 25, minimum=0),
        blast_share=_share(env, "FLOWKEEPER_BLAST_RADIUS_SHARE", 0.10),
        reconcile_every=_period(env, "FLOWKEEPER_RECONCILE_INTERVAL", timedelta(hours=6)),
        lock_seconds=_positive_int(env, "FLOWKEEPER_SWEEP_LOCK_SECONDS", 900, minimum=30),
        snooze_max=_period(env, "FLOWKEEPER_SNOOZE_MAX", timedelta(days=90)) or timedelta(days=90),
        commands=_commands(env),
    )

