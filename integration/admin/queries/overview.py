"""The facts the Overview shows: connections, deliveries, sync times, rule files, warnings.

Every fact comes from the store, the settings or the rule source; none calls a tracker
(the "test" button does that on request), so the page stays fast and works offline.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select

from integration.services import Services
from integration.settings import Settings
from integration.store.db import read_connection
from integration.store.store import Store
from integration.store.tables import items, service_state

TRACKERS = ("jira", "linear")
TEST_KEY = "admin.connection_test.{tracker}"


@dataclass(frozen=True)
class TrackerStatus:
    name: str
    configured: bool
    dry_run: bool
    webhook_secrets: int
    last_delivery: dict[str, Any] | None
    account: str | None
    last_sync: datetime | None
    last_test: dict[str, Any] | None


@dataclass(frozen=True)
class RulesStatus:
    files: list[str]
    rules: int
    loaded_at: datetime | None
    errors: list[str] = field(default_factory=list)


def parse_time(value: Any) -> datetime | None:
    """Service facts store times as ISO strings, or dicts with an `at`; tolerate both."""
    if isinstance(value, dict):
        value = value.get("at") or value.get("finished_at") or value.get("time")
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value, UTC)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)  # Python 3.11 reads a trailing Z too
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


def service_facts(store: Store, keys: list[str]) -> dict[str, Any]:
    """Several small service facts in one query (the Overview needs about a dozen)."""
    query = select(service_state.c.key, service_state.c.value).where(service_state.c.key.in_(keys))
    with read_connection(store.engine) as conn:
        return {row.key: row.value for row in conn.execute(query)}


SYNC_KEYS = ("{tracker}.sync.last", "{tracker}.reconcile.last")  # written by integration.sweeps.sync


def _fact_keys(tracker: str) -> list[str]:
    return [
        f"{tracker}.whoami",
        TEST_KEY.format(tracker=tracker),
        *(k.format(tracker=tracker) for k in SYNC_KEYS),
    ]


def last_sync(facts: dict[str, Any], tracker: str) -> datetime | None:
    """When the mirror was last brought up to date: `flowkeeper sync` or the scheduled reconcile."""
    times = [parse_time(facts.get(key.format(tracker=tracker))) for key in SYNC_KEYS]
    return max((t for t in times if t is not None), default=None)


def mirror_size(store: Store) -> int:
    with read_connection(store.engine) as conn:
        return int(conn.execute(select(func.count()).select_from(items)).scalar() or 0)


def tracker_statuses(services: Services) -> list[TrackerStatus]:
    keys = [key for t in TRACKERS for key in _fact_keys(t)]
    facts = service_facts(services.store, keys)
    return [tracker_status(services, t, facts) for t in TRACKERS]


def tracker_status(services: Services, tracker: str, facts: dict[str, Any]) -> TrackerStatus:
    s, store = services.settings, services.store
    configured = s.jira_configured if tracker == "jira" else s.linear_configured
    secrets = s.jira_webhook_secrets if tracker == "jira" else s.linear_webhook_secrets
    account = facts.get(f"{tracker}.whoami")
    return TrackerStatus(
        name=tracker,
        configured=configured,
        dry_run=s.dry_run_for(tracker),
        webhook_secrets=len(secrets),
        last_delivery=store.deliveries.last_received(tracker),
        account=(account.get("name") or account.get("id")) if isinstance(account, dict) else None,
        last_sync=last_sync(facts, tracker),
        last_test=facts.get(TEST_KEY.format(tracker=tracker)),
    )


def rules_status(services: Services) -> RulesStatus:
    source = services.rules
    ruleset = source.current()  # first: it reloads changed files and sets last_error
    error = source.last_error
    loaded = datetime.fromtimestamp(source.loaded_at, UTC) if source.loaded_at else None
    return RulesStatus(
        files=list(source.files),
        rules=len(ruleset.rules),
        loaded_at=loaded,
        errors=[str(e) for e in error.errors] if error is not None else [],
    )


def warnings(settings: Settings) -> list[str]:
    """Configuration an operator should fix, in words that say why."""
    found = []
    if not settings.admin.secret_key:
        found.append(
            "SECRET_KEY is not set: admin sessions end at every restart and do not work across "
            "several web processes."
        )
    if len(settings.admin.password.reveal()) < 12:
        found.append("ADMIN_PASSWORD is shorter than 12 characters: use a long random password.")
    if settings.allow_unsigned:
        found.append(
            "FLOWKEEPER_ALLOW_UNSIGNED=1: webhooks without a configured secret are accepted unsigned."
        )
    for tracker in TRACKERS:
        configured = settings.jira_configured if tracker == "jira" else settings.linear_configured
        secrets = settings.jira_webhook_secrets if tracker == "jira" else settings.linear_webhook_secrets
        if configured and not secrets and not settings.allow_unsigned:
            found.append(
                f"{tracker.title()} is connected but has no webhook secret: its deliveries are refused."
            )
    if settings.linear_webhook_secrets and not settings.linear_configured:
        found.append(LINEAR_WITHOUT_KEY)
    return found


LINEAR_WITHOUT_KEY = (
    "Linear webhooks arrive but LINEAR_API_KEY is not set: Flowkeeper mirrors what they carry "
    "(status, title, assignee, labels, priority, estimate, dates) and names earlier states and "
    "removed labels from past deliveries; the rest stays unknown. A key adds blocking relations, "
    "each issue's status history from before Flowkeeper saw it, states and labels no delivery "
    "has named yet, the issue behind each comment, sweeps, and writing comments and labels back."
)
