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
