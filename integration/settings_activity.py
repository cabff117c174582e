"""The activity section of the settings: accounts whose changes and comments are not a person's activity.

Jira app accounts (`accountType: app`) and Linear's integrations and app users are bots
already; automation that runs as an ordinary user (a script with its own API token, a
sync tool) looks like a person to both trackers. Listing it here makes its changes and
comments count as a bot's everywhere activity is read: webhooks, first sight, sync.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from integration.settings_values import SettingsError, text_of


@dataclass(frozen=True)
class ActivitySettings:
    # FLOWKEEPER_BOT_ACCOUNTS: Jira accountIds, Linear user ids or emails, case-folded
    bot_accounts: frozenset[str] = frozenset()


def load_activity_settings(env: Mapping[str, str]) -> ActivitySettings:
    """`FLOWKEEPER_BOT_ACCOUNTS=5b10ac8d82e05b22cc7d4ef5,sync-bot@example.com` (comma-separated)."""
    parts = [p.strip() for p in text_of(env, "FLOWKEEPER_BOT_ACCOUNTS").split(",") if p.strip()]
    for part in parts:
        if any(c.isspace() for c in part):
            raise SettingsError("FLOWKEEPER_BOT_ACCOUNTS must list account ids or emails separated by commas "
                                f"(got {part!r})")
    return ActivitySettings(bot_accounts=frozenset(p.casefold() for p in parts))
