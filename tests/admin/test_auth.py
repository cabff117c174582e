"""Login, sessions, CSRF and the boundary between the admin page and the webhook routes."""

from __future__ import annotations

import json

import pytest
from flask import Flask
from flask.testing import FlaskClient

from integration.app import create_app
from tests.admin.helpers import (
    JIRA_SECRET,
    PASSWORD,
    base_env,
    captured_jira_request,
    csrf_of,
    jira_payload,
    login,
    post,
)


def admin_routes(app: Flask) -> list[tuple[str, str]]:
    """Every (method, concrete path) under /admin, with sample values for path parameters."""
    samples = {"tracker": "jira", "name": "started-without-assignee", "job_id": "1", "held_id": "1"}
    found = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/admin") or rule.endpoint in {"admin_auth.login", "admin.static"}:
            continue
        path = rule.rule
        for arg in rule.arguments:
            path = path.replace(f"<{arg}>", samples.get(arg, "x")).replace(
                f"<path:{arg}>", samples.get(arg, "x")
            )
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            found.append((method, path))
    return found


def test_every_admin_route_requires_login(app: Flask, client: FlaskClient) -> None:
    routes = admin_routes(app)
    assert len(routes) >= 10
    for method, path in routes:
        response = client.open(path, method=method)
        if method == "GET" and not path.endswith((".json", ".svg")):
            assert response.status_code == 302, path
            assert response.headers["Location"].startswith("/admin/login"), path
        else:
            assert response.status_code == 401, (method, path)
            assert response.json == {"error": "login required", "login": "/admin/login"}


def test_json_routes_answer_401_not_a_login_page(client: FlaskClient) -> None:
    response = client.get("/admin/audit.json")
    assert response.status_code == 401 and response.is_json


def test_wrong_password_is_refused_and_right_one_logs_in(client: FlaskClient) -> None:
    refused = login(client, "not-the-password")
    assert refused.status_code == 401
    assert "not right" in refused.get_data(as_text=True)
    assert client.get("/admin/").status_code == 302
    accepted = login(client)
    assert accepted.status_code == 302 and accepted.headers["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_session_cookie_is_httponly_samesite_and_secure_behind_https(client: FlaskClient) -> None:
    cookie = login(client).headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    other = client.application.test_client()
    other.get("/admin/login", headers={"X-Forwarded-Proto": "https"})
    secure = other.post(
        "/admin/login",
        headers={"X-Forwarded-Proto": "https"},
        data={"password": PASSWORD, "csrf_token": csrf_of(other)},
    ).headers["Set-Cookie"]
    assert "Secure" in secure and "HttpOnly" in secure


def test_https_public_url_makes_the_cookie_secure(db_url: str) -> None:
    app = create_app(base_env(db_url, FLOWKEEPER_BASE_URL="https://flowkeeper.example.com"))
    cookie = login(app.test_client()).headers["Set-Cookie"]
    assert "Secure" in cookie


def test_failed_logins_are_rate_limited(client: FlaskClient) -> None:
    for _ in range(5):
        assert login(client, "guess").status_code == 401
    blocked = login(client)  # even the right password waits out the window
    assert blocked.status_code == 429 and blocked.headers["Retry-After"] == "900"
    assert client.get("/admin/").status_code == 302


def test_rate_limit_is_shared_through_redis(db_url: str, redis_url: str) -> None:
    env = base_env(db_url, REDIS_URL=redis_url)
    first, second = create_app(env).test_client(), create_app(env).test_client()
    for _ in range(3):
        login(first, "guess")
    for _ in range(2):
        login(second, "guess")
    assert login(first).status_code == 429  # the other process's failures counted too


def test_login_without_csrf_token_is_refused(client: FlaskClient) -> None:
    client.get("/admin/login")
    response = client.post("/admin/login", data={"password": PASSWORD})
    assert response.status_code == 400
    assert "CSRF" in response.get_data(as_text=True)


def test_posts_without_csrf_token_change_nothing(app: Flask, admin: FlaskClient) -> None:
    response = admin.post(
        "/admin/rules/started-without-assignee/override", data={"field": "enabled", "value": "0"}
    )
    assert response.status_code == 400
    wrong = admin.post(
        "/admin/rules/started-without-assignee/override",
        data={"field": "enabled", "value": "0", "csrf_token": "forged"},
    )
    assert wrong.status_code == 400
    assert app.extensions["flowkeeper"].services.store.overrides.all() == {}
    ok = post(admin, "/admin/rules/started-without-assignee/override", field="enabled", value="0")
    assert ok.status_code == 302
    assert app.extensions["flowkeeper"].services.store.overrides.all() == {
        "started-without-assignee": {"enabled": False}
    }


def test_csrf_header_works_for_scripts(app: Flask, admin: FlaskClient) -> None:
    response = admin.post(
        "/admin/rules/started-without-assignee/override",
        data={"field": "dry_run", "value": "1"},
        headers={"X-CSRF-Token": csrf_of(admin)},
    )
    assert response.status_code == 302


def test_logout_ends_the_session(admin: FlaskClient) -> None:
    assert admin.post("/admin/logout").status_code == 400  # logging out needs the token too
    assert admin.get("/admin/").status_code == 200
    assert post(admin, "/admin/logout").status_code == 302
    assert admin.get("/admin/").status_code == 302


def test_a_changed_password_ends_existing_sessions(db_url: str) -> None:
    client = create_app(base_env(db_url)).test_client()
    login(client)
    cookie = client.get_cookie("flowkeeper_admin")
    assert cookie is not None
    rotated = create_app(base_env(db_url, ADMIN_PASSWORD="a-brand-new-long-password")).test_client()
    rotated.set_cookie("flowkeeper_admin", cookie.value)
    assert rotated.get("/admin/").status_code == 302


def test_without_admin_password_the_page_is_disabled(db_url: str) -> None:
    env = base_env(db_url)
    env.pop("ADMIN_PASSWORD")
    client = create_app(env).test_client()
    page = client.get("/admin/login")
    assert "set <code>ADMIN_PASSWORD</code>" in page.get_data(as_text=True)
    assert login(client, "").status_code == 403
    assert client.get("/admin/").status_code == 302


def test_next_parameter_cannot_redirect_off_site(client: FlaskClient) -> None:
    client.get("/admin/login")
    for target in ("https://evil.example/", "//evil.example/", "/admin\\@evil"):
        response = client.post(
            "/admin/login", data={"password": PASSWORD, "csrf_token": csrf_of(client), "next": target}
        )
        assert response.headers["Location"] == "/admin/", target
        post(client, "/admin/logout")
    client.get("/admin/login")
    response = client.post(
        "/admin/login",
        data={"password": PASSWORD, "csrf_token": csrf_of(client), "next": "/admin/audit?rule=x"},
    )
    assert response.headers["Location"] == "/admin/audit?rule=x"


def test_a_protected_page_sends_you_back_after_login(client: FlaskClient) -> None:
    redirect = client.get("/admin/audit?outcome=failed")
    assert redirect.headers["Location"] == "/admin/login?next=/admin/audit?outcome%3Dfailed"


def test_webhooks_never_accept_the_admin_session(admin: FlaskClient) -> None:
    body = json.dumps(jira_payload()).encode()
    unsigned = admin.post(
        "/webhooks/jira",
        data=body,
        headers={"Content-Type": "application/json", "X-CSRF-Token": csrf_of(admin)},
    )
    assert unsigned.status_code == 401
    body, headers = captured_jira_request(jira_payload(), secret=JIRA_SECRET)
    signed = admin.application.test_client().post("/webhooks/jira", data=body, headers=headers)
    assert signed.status_code == 200  # and the webhook route needs no CSRF token or session


def test_admin_responses_carry_security_headers(admin: FlaskClient) -> None:
    response = admin.get("/admin/")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize(
    "path",
    [
        "/admin/",
        "/admin/setup",
        "/admin/rules",
        "/admin/audit",
        "/admin/jobs",
        "/admin/overview.json",
        "/admin/rules.json",
    ],
)
def test_no_secret_appears_on_any_page(db_url: str, path: str) -> None:
    from tests.admin.helpers import JIRA_TOKEN, JIRA_URL, LINEAR_KEY, SECRET_KEY

    env = base_env(
        db_url,
        JIRA_URL=JIRA_URL,
        JIRA_USER="bot@example.com",
        JIRA_API_TOKEN=JIRA_TOKEN,
        LINEAR_API_KEY=LINEAR_KEY,
    )
    client = create_app(env).test_client()
    login(client)
    text = client.get(path).get_data(as_text=True)
    for secret in (JIRA_TOKEN, LINEAR_KEY, SECRET_KEY, PASSWORD, JIRA_SECRET, "lin_wh_admin_secret"):
        assert secret not in text, (path, secret)
