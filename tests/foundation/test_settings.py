"""Settings: defaults that are safe, and a clear error naming the variable."""

from __future__ import annotations

import ast
import json
import re
from datetime import timedelta
from ipaddress import ip_network
from pathlib import Path

import pytest

from integration.cli import main
from integration.settings import Secret, SettingsError, load_settings

ROOT = Path(__file__).resolve().parents[2]
VARIABLE = re.compile(r"[A-Z][A-Z0-9_]{2,}")


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
        ({"WEB_CONCURRENCY": "two"}, "WEB_CONCURRENCY"),
        ({"WEB_CONCURRENCY": "0"}, "WEB_CONCURRENCY"),
        ({"FLOWKEEPER_SWEEP_INTERVAL": "whenever"}, "FLOWKEEPER_SWEEP_INTERVAL"),
        ({"FLOWKEEPER_BLAST_RADIUS_SHARE": "150%"}, "FLOWKEEPER_BLAST_RADIUS_SHARE"),
        ({"FLOWKEEPER_DIGESTS": "/no/such/digests.yml"}, "FLOWKEEPER_DIGESTS"),
        ({"FLOWKEEPER_DIGEST_ALLOW": "relative/folder"}, "FLOWKEEPER_DIGEST_ALLOW"),
        ({"FLOWKEEPER_FAILED_JOB_RETENTION_DAYS": "0"}, "FLOWKEEPER_FAILED_JOB_RETENTION_DAYS"),
        ({"FLOWKEEPER_AUDIT_RETENTION_DAYS": "a year"}, "FLOWKEEPER_AUDIT_RETENTION_DAYS"),
        ({"FLOWKEEPER_WEBHOOK_MAX_AGE": "soon"}, "FLOWKEEPER_WEBHOOK_MAX_AGE"),
        ({"FLOWKEEPER_WEBHOOK_MAX_AGE": "0"}, "FLOWKEEPER_WEBHOOK_MAX_AGE"),
        ({"FLOWKEEPER_TRUSTED_PROXIES": "the load balancer"}, "FLOWKEEPER_TRUSTED_PROXIES"),
        ({"FLOWKEEPER_WAITING_STATUSES": "In Review"}, "FLOWKEEPER_WAITING_STATUSES"),
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


def test_each_feature_has_its_section_with_the_documented_defaults() -> None:
    s = load_settings({})
    assert s.serve.port == 8000 and s.serve.web_concurrency == 2
    assert s.sweeps.write_budget == 200 and s.sweeps.blast_items == 25
    assert (s.retention.audit_days, s.retention.delivery_days, s.retention.failed_job_days) == (180, 14, 30)
    assert s.digests.file is None and s.digests.allow.url_prefixes == ()
    assert not s.metrics.token and s.metrics.multiproc_dir is None
    assert s.webhooks.max_age == timedelta(hours=4) and s.admin.trusted_proxies == ()
    assert s.reports.waiting_statuses == {}


def test_sections_read_their_variables(tmp_path: Path) -> None:
    digests = tmp_path / "digests.yml"
    digests.write_text("digests: []\n", encoding="utf-8")
    s = load_settings({"PORT": "5005", "WEB_CONCURRENCY": "4", "FLOWKEEPER_SWEEP_WRITE_BUDGET": "7",
                       "FLOWKEEPER_DIGESTS": str(digests), "FLOWKEEPER_DIGEST_ALLOW": "https://hooks.example.com/fk/",
                       "FLOWKEEPER_METRICS_TOKEN": "scrape-me-please", "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)})
    assert (s.serve.port, s.serve.web_concurrency, s.sweeps.write_budget) == (5005, 4, 7)
    assert s.digests.file == digests and s.digests.allow.allows_url("https://hooks.example.com/fk/team")
    assert s.metrics.token.reveal() == "scrape-me-please" and s.metrics.multiproc_dir == tmp_path
    assert "scrape-me-please" in s.secrets() and "scrape-me-please" not in repr(s)
    s = load_settings({"FLOWKEEPER_WEBHOOK_MAX_AGE": "6h", "FLOWKEEPER_TRUSTED_PROXIES": "10.0.0.0/8",
                       "FLOWKEEPER_WAITING_STATUSES": "ENG=In Review"})
    assert s.webhooks.max_age == timedelta(hours=6) and s.admin.trusted_proxies == (ip_network("10.0.0.0/8"),)
    assert s.reports.waiting_statuses == {"ENG": ("In Review",)}


def variables_read() -> set[str]:
    """Every variable name the settings modules mention (the only code that reads the environment)."""
    found: set[str] = set()
    for path in sorted((ROOT / "integration").glob("settings*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and VARIABLE.fullmatch(node.value):
                found.add(node.value)
    return found


def test_every_variable_is_in_the_readme_and_app_json_names_only_real_ones() -> None:
    read = variables_read()
    assert {"FLOWKEEPER_WEBHOOK_MAX_AGE", "FLOWKEEPER_TRUSTED_PROXIES", "PORT"} <= read  # the scan sees them
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert sorted(name for name in read if f"`{name}`" not in readme) == []
    manifest = json.loads((ROOT / "app.json").read_text(encoding="utf-8"))["env"]
    assert sorted(set(manifest) - read) == []


def test_the_values_app_json_sets_are_valid() -> None:
    manifest = json.loads((ROOT / "app.json").read_text(encoding="utf-8"))["env"]
    settings = load_settings({name: spec["value"] for name, spec in manifest.items() if "value" in spec})
    assert settings.admin.trusted_proxies == (ip_network("10.0.0.0/8"),)


def test_a_bad_value_stops_the_command_naming_the_variable(monkeypatch: pytest.MonkeyPatch,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("WEB_CONCURRENCY", "lots")
    with pytest.raises(SystemExit) as stopped:
        main(["serve"])
    assert stopped.value.code == 2
    assert "configuration error: WEB_CONCURRENCY must be a whole number (got 'lots')" in capsys.readouterr().err


def test_bot_accounts_are_read_case_folded_and_a_blank_inside_a_name_is_refused() -> None:
    settings = load_settings({"FLOWKEEPER_BOT_ACCOUNTS": " 5b10ac8d82e05b22cc7d4ef5 , Sync-Bot@Example.com,"})
    assert settings.activity.bot_accounts == frozenset({"5b10ac8d82e05b22cc7d4ef5", "sync-bot@example.com"})
    assert load_settings({}).activity.bot_accounts == frozenset()
    with pytest.raises(SettingsError, match="FLOWKEEPER_BOT_ACCOUNTS must list account ids or emails"):
        load_settings({"FLOWKEEPER_BOT_ACCOUNTS": "sync bot"})
