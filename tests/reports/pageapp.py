"""The Flowkeeper app with the admin login, on a store the report tests fill; logging in as a browser does."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from flask import Flask
from flask.testing import FlaskClient

from integration.app import create_app

PASSWORD = "reports-admin-password"


@contextmanager
def report_app(db_url: str, now: datetime) -> Iterator[Flask]:
    app = create_app({"DATABASE_URL": db_url, "ADMIN_PASSWORD": PASSWORD,
                      "SECRET_KEY": "reports-tests-secret-key-0123456789"})
    app.config["ADMIN_CLOCK"] = lambda: now
    try:
        yield app
    finally:
        app.extensions["flowkeeper"].services.store.engine.dispose()


def csrf_token(page: str) -> str:
    match = re.search(r'name="csrf-token" content="([^"]+)"', page)
    assert match, "admin pages carry a CSRF token"
    return match.group(1)


def log_in(client: FlaskClient) -> None:
    page = client.get("/admin/login").get_data(as_text=True)
    response = client.post("/admin/login", data={"password": PASSWORD, "csrf_token": csrf_token(page)})
    assert response.status_code == 302, response.get_data(as_text=True)
