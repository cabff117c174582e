"""What the Setup page tells an admin: webhook URLs, events to select, which secrets are set.

Secrets are reported as set / not set (and how many, for rotation) — never their values.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from integration.settings import Settings

JIRA_EVENTS = ("Issue: created", "Issue: updated", "Issue: deleted", "Comment: created", "Comment: updated")
LINEAR_RESOURCES = ("Issues", "Comments", "Issue labels")


@dataclass(frozen=True)
class SecretState:
    variable: str
    purpose: str
    count: int

    @property
    def set(self) -> bool:
        return self.count > 0


@dataclass(frozen=True)
class WebhookSetup:
    tracker: str
    url: str
    where: str
    select: tuple[str, ...]
    secret_variable: str
    secrets: int
    notes: tuple[str, ...]


def base_url(settings: Settings, request_host_url: str) -> tuple[str, bool]:
    """The public URL and whether it was configured (else guessed from this page's address)."""
    if settings.base_url:
        return settings.base_url.rstrip("/"), True
    return request_host_url.rstrip("/"), False


def webhooks(settings: Settings, base: str) -> list[WebhookSetup]:
    return [
        _webhook(
            "jira", base, settings.jira_webhook_secrets, JIRA_EVENTS,
            where="Jira settings → System → WebHooks → Create a WebHook",
            notes=(
                "Put the same value into the webhook's Secret field: Jira then signs every delivery "
                "(X-Hub-Signature).",
                "Optionally narrow it with a JQL filter such as: project in (ABC, DEF).",
            ),
        ),
        _webhook(
            "linear", base, settings.linear_webhook_secrets, LINEAR_RESOURCES,
            where="Linear → Settings → API → Webhooks → New webhook",
            notes=(
                "Copy the signing secret Linear shows after saving into LINEAR_WEBHOOK_SECRET "
                "(comma-separate several, e.g. one per team, or old and new while rotating).",
            ),
        ),
    ]


def _webhook(tracker: str, base: str, secrets: Sequence[Any], select: tuple[str, ...], *, where: str,
             notes: tuple[str, ...]) -> WebhookSetup:
    """A tracker's webhook: its receiver URL and its secret variable follow from the tracker's name."""
    return WebhookSetup(tracker=tracker, url=f"{base}/webhooks/{tracker}", where=where, select=select,
                        secret_variable=f"{tracker.upper()}_WEBHOOK_SECRET", secrets=len(secrets), notes=notes)


def secrets(settings: Settings) -> list[SecretState]:
    def one(secret: Any) -> int:
        return 1 if secret else 0

    return [
        SecretState("JIRA_API_TOKEN", "Jira API token of the service account", one(settings.jira_api_token)),
        SecretState(
            "JIRA_WEBHOOK_SECRET", "checks Jira's webhook signatures", len(settings.jira_webhook_secrets)
        ),
        SecretState("LINEAR_API_KEY", "Linear API key of the service account", one(settings.linear_api_key)),
        SecretState(
            "LINEAR_WEBHOOK_SECRET",
            "checks Linear's webhook signatures",
            len(settings.linear_webhook_secrets),
        ),
        SecretState("SECRET_KEY", "signs admin sessions", one(settings.admin.secret_key)),
        SecretState("ADMIN_PASSWORD", "the admin page's password", one(settings.admin.password)),
    ]


def setup_facts(settings: Settings, request_host_url: str) -> dict[str, Any]:
    base, configured = base_url(settings, request_host_url)
    return {
        "base_url": base,
        "base_url_configured": configured,
        "webhooks": webhooks(settings, base),
        "secrets": secrets(settings),
        "jira_url": settings.jira_url,
        "jira_user": settings.jira_user,
        "linear_api_url": settings.linear_api_url,
        "dry_run_requested": settings.dry_run_requested,
    }
