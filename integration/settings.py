"""Settings from environment variables: one object, validated once at start-up.

The only place that reads the process environment. Connections and trackers are fields
here; each feature's knobs are a section parsed beside it (`settings_sweeps`,
`settings_digests`, `settings_retention`, `settings_metrics`, `settings_serve`, `settings_admin`,
`settings_webhooks`, `settings_reports`, `settings_activity`) and loaded
together by `load_settings`, so a bad value anywhere stops start-up with a message naming
the variable. Secrets are kept in `Secret` wrappers whose repr never shows the value, so
a settings object can be logged.
"""

from __future__ import annotations

import base64
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

from integration.settings_activity import ActivitySettings, load_activity_settings
from integration.settings_admin import AdminSettings, load_admin_settings
from integration.settings_digests import DigestSettings, load_digest_settings
from integration.settings_metrics import MetricsSettings, load_metrics_settings
from integration.settings_reports import ReportSettings, load_report_settings
from integration.settings_retention import RetentionSettings, load_retention_settings
from integration.settings_serve import ServeSettings, load_serve_settings
from integration.settings_sweeps import SweepSettings, load_sweep_settings
from integration.settings_values import Secret, SettingsError, env_int, flag
from integration.settings_webhooks import WebhookSettings, load_webhook_settings

__all__ = ["Secret", "Settings", "SettingsError", "child_environment", "env_int", "load_settings",
           "normalize_database_url", "or_exit", "read_rules_dir",
           "settings_or_exit"]

T = TypeVar("T")

DEFAULT_LINEAR_API_URL = "https://api.linear.app/graphql"
DEFAULT_DATABASE_URL = "sqlite:///var/flowkeeper.sqlite"


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    redis_url: str | None = None
    rules_dir: Path | None = None
    jira_url: str | None = None
    jira_user: str | None = None
    jira_api_token: Secret = Secret("")
    jira_webhook_secrets: tuple[Secret, ...] = ()
    jira_field_map: Mapping[str, str] = field(default_factory=dict)
    jira_story_points_field: str | None = None
    jira_notify_users: bool = True
    # issue types that are bugs, by id (or name); empty: Jira's standard Bug type
    jira_bug_types: tuple[str, ...] = ()
    linear_bug_label: str = "Bug"  # Linear has no issue types: a label marks bugs
    linear_api_key: Secret = Secret("")
    linear_api_url: str = DEFAULT_LINEAR_API_URL
    linear_webhook_secrets: tuple[Secret, ...] = ()
    linear_organization_id: str | None = None
    dry_run_requested: bool = True
    allow_unsigned: bool = False
    max_body_bytes: int = 1_048_576
    log_format: str = "text"
    base_url: str | None = None  # public URL, for the webhook addresses shown on Setup
    admin: AdminSettings = field(default_factory=AdminSettings)
    webhooks: WebhookSettings = field(default_factory=WebhookSettings)
    reports: ReportSettings = field(default_factory=ReportSettings)
    sweeps: SweepSettings = field(default_factory=SweepSettings)
    digests: DigestSettings = field(default_factory=DigestSettings)
    retention: RetentionSettings = field(default_factory=RetentionSettings)
    metrics: MetricsSettings = field(default_factory=MetricsSettings)
    serve: ServeSettings = field(default_factory=ServeSettings)
    activity: ActivitySettings = field(default_factory=ActivitySettings)

    @property
    def jira_configured(self) -> bool:
        return bool(self.jira_url and self.jira_user and self.jira_api_token)

    @property
    def linear_configured(self) -> bool:
        return bool(self.linear_api_key)

    def dry_run_for(self, tracker: str) -> bool:
        """Writes happen only when dry run was switched off explicitly *and* credentials exist."""
        configured = self.jira_configured if tracker == "jira" else self.linear_configured
        return self.dry_run_requested or not configured

    def secrets(self) -> list[str]:
        """Every configured secret value, for scrubbing logs and errors."""
        values = [self.jira_api_token, self.linear_api_key, self.admin.secret_key, self.admin.password,
                  self.metrics.token]
        values += list(self.jira_webhook_secrets) + list(self.linear_webhook_secrets)
        if self.jira_user and self.jira_api_token:  # the Basic credential a tracker might echo back
            basic = f"{self.jira_user}:{self.jira_api_token.reveal()}".encode()
            values.append(Secret(base64.b64encode(basic).decode()))
        return [v.reveal() for v in values if v]


def _secrets(env: Mapping[str, str], name: str) -> tuple[Secret, ...]:
    """Comma-separated secrets: several may be valid at once (rotation, one per Linear team)."""
    return tuple(Secret(part.strip()) for part in env.get(name, "").split(",") if part.strip())


def normalize_database_url(raw: str) -> str:
    """Accept Heroku's `postgres://` and plain `postgresql://`, and pick the psycopg 3 driver."""
    if raw.startswith("postgres://"):
        raw = "postgresql://" + raw[len("postgres://") :]
    if raw.startswith("postgresql://"):
        raw = "postgresql+psycopg://" + raw[len("postgresql://") :]
    return raw


def _database_url(env: Mapping[str, str]) -> str:
    raw = env.get("DATABASE_URL", "").strip() or DEFAULT_DATABASE_URL
    url = normalize_database_url(raw)
    if not (url.startswith("sqlite:") or url.startswith("postgresql+psycopg://")):
        raise SettingsError(f"DATABASE_URL must be a sqlite: or postgres:// URL (got scheme {raw.split(':')[0]!r})")
    return url


def _redis_url(env: Mapping[str, str]) -> str | None:
    raw = env.get("REDIS_URL", "").strip()
    if not raw:
        return None
    if urlsplit(raw).scheme not in {"redis", "rediss", "unix"}:
        raise SettingsError("REDIS_URL must start with redis://, rediss:// or unix://")
    return raw


def _http_url(env: Mapping[str, str], name: str, default: str | None = None) -> str | None:
    raw = env.get(name, "").strip() or default
    if raw is None:
        return None
    parts = urlsplit(raw)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise SettingsError(f"{name} must be an http(s) URL (got {raw!r})")
    return raw.rstrip("/")


def _field_map(env: Mapping[str, str]) -> dict[str, str]:
    """`JIRA_FIELD_MAP=severity=customfield_10050,story_points=customfield_10016`."""
    mapping: dict[str, str] = {}
    for pair in filter(None, (p.strip() for p in env.get("JIRA_FIELD_MAP", "").split(","))):
        name, sep, field_id = pair.partition("=")
        if not sep or not name.strip() or not field_id.strip():
            raise SettingsError(f"JIRA_FIELD_MAP entries must look like name=customfield_10050 (got {pair!r})")
        mapping[name.strip()] = field_id.strip()
    return mapping


def _rules_dir(env: Mapping[str, str]) -> Path | None:
    raw = env.get("RULES_DIR", "").strip()
    if not raw:
        return None
    path = Path(raw)
    if not path.is_dir():
        raise SettingsError(f"RULES_DIR must be a folder of rule files ({raw!r} is not a folder)")
    return path


def _choice(env: Mapping[str, str], name: str, choices: tuple[str, ...], default: str) -> str:
    raw = env.get(name, "").strip().lower() or default
    if raw not in choices:
        raise SettingsError(f"{name} must be one of {', '.join(choices)} (got {raw!r})")
    return raw


def load_settings(env: Mapping[str, str] | None = None, *, overrides: Mapping[str, object] | None = None) -> Settings:
    """Read and validate every variable of every section; raise SettingsError naming the first bad one.

    `env` defaults to this process's environment; `overrides` (environment-style, e.g. a
    test's `DATABASE_URL`) are laid over it.
    """
    env = {**(os.environ if env is None else env), **{k: str(v) for k, v in (overrides or {}).items()}}
    jira_field_map = _field_map(env)
    return Settings(
        database_url=_database_url(env),
        redis_url=_redis_url(env),
        rules_dir=_rules_dir(env),
        jira_url=_http_url(env, "JIRA_URL"),
        jira_user=env.get("JIRA_USER", "").strip() or None,
        jira_api_token=Secret(env.get("JIRA_API_TOKEN", "").strip()),
        jira_webhook_secrets=_secrets(env, "JIRA_WEBHOOK_SECRET"),
        jira_field_map=jira_field_map,
        jira_story_points_field=env.get("JIRA_STORY_POINTS_FIELD", "").strip()
        or jira_field_map.get("story_points"),
        jira_notify_users=flag(env, "JIRA_NOTIFY_USERS", True),
        jira_bug_types=tuple(filter(None, (p.strip() for p in env.get("JIRA_BUG_TYPES", "").split(",")))),
        linear_bug_label=env.get("LINEAR_BUG_LABEL", "").strip() or "Bug",
        linear_api_key=Secret(env.get("LINEAR_API_KEY", "").strip()),
        linear_api_url=_http_url(env, "LINEAR_API_URL", DEFAULT_LINEAR_API_URL) or DEFAULT_LINEAR_API_URL,
        linear_webhook_secrets=_secrets(env, "LINEAR_WEBHOOK_SECRET"),
        linear_organization_id=env.get("LINEAR_ORGANIZATION_ID", "").strip() or None,
        dry_run_requested=flag(env, "FLOWKEEPER_DRY_RUN", True),
        allow_unsigned=flag(env, "FLOWKEEPER_ALLOW_UNSIGNED", False),
        max_body_bytes=env_int(env, "FLOWKEEPER_MAX_BODY_BYTES", 1_048_576, minimum=1024),
        log_format=_choice(env, "FLOWKEEPER_LOG_FORMAT", ("text", "json"), "text"),
        base_url=_http_url(env, "FLOWKEEPER_BASE_URL"),
        admin=load_admin_settings(env),
        webhooks=load_webhook_settings(env),
        reports=load_report_settings(env),
        sweeps=load_sweep_settings(env),
        digests=load_digest_settings(env),
        retention=load_retention_settings(env),
        metrics=load_metrics_settings(env),
        serve=load_serve_settings(env),
        activity=load_activity_settings(env),
    )


def or_exit(load: Callable[[], T]) -> T:
    """For a command's start: a bad value ends the command naming the variable, with exit status 2."""
    try:
        return load()
    except SettingsError as error:
        print(f"flowkeeper: configuration error: {error}", file=sys.stderr)
        raise SystemExit(2) from None


def settings_or_exit() -> Settings:
    """A command's settings, every section validated (see `or_exit`)."""
    return or_exit(load_settings)


def read_rules_dir(env: Mapping[str, str] | None = None) -> Path | None:
    """RULES_DIR alone, validated like in `load_settings`: for the rules commands, which need nothing else."""
    return _rules_dir(os.environ if env is None else env)


def child_environment(extra: Mapping[str, str]) -> dict[str, str]:
    """This process's environment with `extra` laid over it, for a process it starts (gunicorn)."""
    return {**os.environ, **extra}
