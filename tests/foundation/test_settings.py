"""Settings: defaults that are safe, and a clear error naming the variable."""

from __future__ import annotations

import pytest

from integration.settings import Secret, SettingsError, load_settings


def test_defaults_are_the_embedded_dry_run() -> None:
    s = load_settings({})
    assert s.database_url.startswith("sqlite:///")
    assert s.redis_url is None
    assert s.dry_run_for("jira") and s.dry_run_for("linear")


def test_dry_run_off_needs_credentials_too() -> None:
    s = load_settings({"FLOWKEEPER_DRY_RUN": "0"})
    assert s.dry_run_for("jira"), "no Jira credentials: still dry"
    s = load_settings({"FLOWKEEPER_DRY_RUN": "0", "JIRA_URL": "https://acme.atlassian.net",
                       "JIRA_USER": "bot@acme.test", "JIRA_API_TOKEN": "t0ken-value"})
    assert not s.dry_run_for("jira")
    assert s.dry_run_for("linear")


def test_heroku_postgres_url_is_accepted() -> None:
    s = load_settings({"DATABASE_URL": "postgres://u:p@db.example:5432/flow"})
    assert s.database_url == "postgresql+psycopg://u:p@db.example:5432/flow"


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"DATABASE_URL": "mysql://x"}, "DATABASE_URL"),
        ({"REDIS_URL": "http://x"}, "REDIS_URL"),
        ({"FLOWKEEPER_DRY_RUN": "maybe"}, "FLOWKEEPER_DRY_RUN"),
        ({"PORT": "eighty"}, "PORT"),
        ({"JIRA_URL": "acme.atlassian.net"}, "JIRA_URL"),
        ({"JIRA_FIELD_MAP": "severity"}, "JIRA_FIELD_MAP"),
        ({"RULES_DIR": "/no/such/folder"}, "RULES_DIR"),
        ({"FLOWKEEPER_LOG_FORMAT": "xml"}, "FLOWKEEPER_LOG_FORMAT"),
    ],
)
def test_bad_value_names_the_variable(env: dict[str, str], variable: str) -> None:
    with pytest.raises(SettingsError, match=variable):
        load_settings(env)


def test_several_webhook_secrets_and_none_leaks_in_repr() -> None:
    s = load_settings({"LINEAR_WEBHOOK_SECRET": "lin_wh_aaa, lin_wh_bbb", "JIRA_API_TOKEN": "ATATT-secret"})
    assert [x.reveal() for x in s.linear_webhook_secrets] == ["lin_wh_aaa", "lin_wh_bbb"]
    text = repr(s)
    assert "lin_wh_aaa" not in text and "ATATT-secret" not in text
    assert str(Secret("x")) == "Secret('***')"


def test_field_map_and_story_points() -> None:
    s = load_settings({"JIRA_FIELD_MAP": "severity=customfield_10050, story_points=customfield_10016"})
    assert s.jira_field_map == {"severity": "customfield_10050", "story_points": "customfield_10016"}
    assert s.jira_story_points_field == "customfield_10016"
