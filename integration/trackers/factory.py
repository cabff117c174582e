"""Tracker clients from settings: only for trackers whose credentials are configured."""

from __future__ import annotations

from integration.settings import Settings
from integration.trackers.base import TrackerClient
from integration.trackers.jira.normalize import JiraConfig
from integration.trackers.linear.item import LinearConfig


def jira_config(settings: Settings) -> JiraConfig:
    return JiraConfig(
        site_url=settings.jira_url,
        story_points_field=settings.jira_story_points_field,
        field_map=dict(settings.jira_field_map),
        bug_types=settings.jira_bug_types,
    )


def linear_config(settings: Settings) -> LinearConfig:
    return LinearConfig(bug_label=settings.linear_bug_label)


def make_clients(settings: Settings) -> dict[str, TrackerClient]:
    clients: dict[str, TrackerClient] = {}
    if settings.jira_configured:
        from integration.trackers.jira.client import JiraClient

        clients["jira"] = JiraClient(
            settings.jira_url or "",
            settings.jira_user or "",
            settings.jira_api_token.reveal(),
            config=jira_config(settings),
            notify_users=settings.jira_notify_users,
            bot_accounts=settings.activity.bot_accounts,
        )
    if settings.linear_configured:
        from integration.trackers.linear.client import LinearClient

        clients["linear"] = LinearClient(
            settings.linear_api_url, settings.linear_api_key.reveal(), config=linear_config(settings),
            bot_accounts=settings.activity.bot_accounts,
        )
    return clients
