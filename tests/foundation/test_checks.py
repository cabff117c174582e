"""`flowkeeper jira check` and `flowkeeper linear check` against the stub tracker, as a user runs them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from integration.cli import main
from tests.stub import Stub, jira_issue, linear_issue, running_stub


@pytest.fixture
def stub() -> Iterator[Stub]:
    with running_stub() as running:
        yield running


def test_linear_check_verifies_the_key_and_prints_the_webhook_setup(
    stub: Stub, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    stub.seed_linear([linear_issue("ENG-1")])
    monkeypatch.setenv("LINEAR_API_KEY", "lin_api_check")
    monkeypatch.setenv("LINEAR_API_URL", f"{stub.url}/graphql")
    monkeypatch.setenv("FLOWKEEPER_BASE_URL", "https://flowkeeper.example.com")
    assert main(["linear", "check"]) == 0
    out = capsys.readouterr().out
    assert "https://flowkeeper.example.com/webhooks/linear" in out
    assert "lin_api_check" not in out


def test_jira_check_verifies_credentials_and_project_permissions(
    stub: Stub, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    stub.seed_jira(jira_issue("ACME-1"))
    monkeypatch.setenv("JIRA_URL", stub.url)
    monkeypatch.setenv("JIRA_USER", "bot@acme.test")
    monkeypatch.setenv("JIRA_API_TOKEN", "tok-check")
    assert main(["jira", "check", "--project", "ACME"]) == 0
    out = capsys.readouterr().out
    assert "/webhooks/jira" in out and "ACME" in out and "tok-check" not in out


def test_check_without_credentials_names_what_to_set(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("LINEAR_API_KEY", "JIRA_URL", "JIRA_USER", "JIRA_API_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    assert main(["linear", "check"]) == 2
    assert "LINEAR_API_KEY" in capsys.readouterr().err


def _variables_settings_read() -> set[str]:
    """Every environment variable name the settings modules read (their string literals)."""
    import re
    from pathlib import Path

    import integration

    root = Path(integration.__file__).parent
    text = "".join(p.read_text(encoding="utf-8") for p in root.glob("settings*.py"))
    return set(re.findall(r"\"([A-Z][A-Z0-9_]+)\"", text))


@pytest.mark.parametrize("with_public_url", [True, False])
def test_every_variable_the_checks_name_is_one_settings_reads(
    stub: Stub, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], with_public_url: bool
) -> None:
    """People copy these lines: a variable they name must exist, and the URL must not double its path."""
    import re

    stub.seed_jira(jira_issue("ACME-1"))
    stub.seed_linear([linear_issue("ENG-1")])
    for name, value in {"JIRA_URL": stub.url, "JIRA_USER": "bot@acme.test", "JIRA_API_TOKEN": "tok",
                        "LINEAR_API_KEY": "lin_api_x", "LINEAR_API_URL": f"{stub.url}/graphql"}.items():
        monkeypatch.setenv(name, value)
    for name in ("JIRA_WEBHOOK_SECRET", "LINEAR_WEBHOOK_SECRET", "JIRA_STORY_POINTS_FIELD", "FLOWKEEPER_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    if with_public_url:
        monkeypatch.setenv("FLOWKEEPER_BASE_URL", "https://fk.example.com/")
    main(["jira", "check", "--project", "ACME"])
    main(["linear", "check"])
    out = capsys.readouterr().out
    named = set(re.findall(r"\b[A-Z][A-Z0-9]*_[A-Z0-9_]+\b", out))
    assert named and named <= _variables_settings_read(), named - _variables_settings_read()
    urls = re.findall(r"URL: (.+?/webhooks/\w+)", out)
    assert len(urls) == 2 and all(u.count("/webhooks/") == 1 for u in urls)
    if with_public_url:
        assert urls == ["https://fk.example.com/webhooks/jira", "https://fk.example.com/webhooks/linear"]
