"""The webhooks section of the settings: how old a signed body may be before it counts as a replay."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from integration.settings_values import env_hours


@dataclass(frozen=True)
class WebhookSettings:
    # FLOWKEEPER_WEBHOOK_MAX_AGE: a signed Jira body further than this from the clock is a replay
    max_age: timedelta = timedelta(hours=4)


def load_webhook_settings(env: Mapping[str, str]) -> WebhookSettings:
    return WebhookSettings(max_age=env_hours(env, "FLOWKEEPER_WEBHOOK_MAX_AGE", timedelta(hours=4)))
