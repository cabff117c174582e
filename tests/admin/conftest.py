"""Fixtures for the admin tests: an app on a real SQLite store, logged-out and logged-in clients."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import responses
from flask import Flask
from flask.testing import FlaskClient

from integration.app import create_app
from tests.admin.helpers import JIRA_URL, base_env, login
from tests.stub import JiraStub


@pytest.fixture
def admin_env(db_url: str) -> dict[str, str]:
    return base_env(db_url)


@pytest.fixture
def app(admin_env: dict[str, str]) -> Iterator[Flask]:
    app = create_app(admin_env)
    yield app
    app.extensions["flowkeeper"].services.store.engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def admin(app: Flask) -> FlaskClient:
    """A client logged in as the admin."""
    client = app.test_client()
    response = login(client)
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


@pytest.fixture
def jira_stub() -> Iterator[JiraStub]:
    """Jira at JIRA_URL, answered by the stub tracker in-process."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield JiraStub(mock, JIRA_URL)
