"""Admin sessions that end, login limits that cannot lock the admin out, and who did what."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from ipaddress import ip_network

import pytest
from flask import Flask
from flask.testing import FlaskClient

from integration.admin.clients import client_address
from integration.app import create_app
from integration.settings import SettingsError, load_settings
from integration.store.audit import AuditFilter
from tests.admin.helpers import PASSWORD, base_env, csrf_of, login, post

PROXY = "10.0.0.5"


def stolen_copy(app: Flask, admin: FlaskClient) -> FlaskClient:
    """Another browser holding a copy of the admin's session cookie."""
    cookie = admin.get_cookie("flowkeeper_admin")
    assert cookie is not None
    thief = app.test_client()
    thief.set_cookie("flowkeeper_admin", cookie.value)
    return thief


def test_a_cookie_copied_before_logout_stops_working_after_it(app: Flask, admin: FlaskClient) -> None:
    thief = stolen_copy(app, admin)
    assert thief.get("/admin/").status_code == 200
    assert post(admin, "/admin/logout").status_code == 302
    assert thief.get("/admin/").status_code == 302
    assert thief.get("/admin/audit.json").status_code == 401


def test_logging_out_ends_only_that_session(app: Flask, admin: FlaskClient) -> None:
    other = app.test_client()
    login(other)
    post(admin, "/admin/logout")
    assert other.get("/admin/").status_code == 200


def test_a_session_ends_after_twelve_hours_on_the_servers_clock(app: Flask, admin: FlaskClient) -> None:
    start = datetime.now(UTC)
    app.config["ADMIN_CLOCK"] = lambda: start + timedelta(hours=11, minutes=59)
    assert admin.get("/admin/").status_code == 200
    app.config["ADMIN_CLOCK"] = lambda: start + timedelta(hours=12, minutes=1)
    assert admin.get("/admin/").status_code == 302


def test_sessions_are_shared_by_every_web_process(db_url: str) -> None:
    first, second = create_app(base_env(db_url)), create_app(base_env(db_url))
    browser = first.test_client()
    login(browser)
    copy = stolen_copy(second, browser)
    assert copy.get("/admin/").status_code == 200  # the other process knows the session
    post(browser, "/admin/logout")
    assert copy.get("/admin/").status_code == 302  # and learns at once that it ended


def guess_from(app: Flask, address: str, password: str = "guess", peer: str = PROXY) -> int:
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = peer
    client.get("/admin/login", headers={"X-Forwarded-For": address})
    response = client.post("/admin/login", headers={"X-Forwarded-For": address},
                           data={"password": password, "csrf_token": csrf_of(client)})
    return response.status_code


@pytest.fixture
def proxied(db_url: str) -> Flask:
    return create_app(base_env(db_url, FLOWKEEPER_TRUSTED_PROXIES="10.0.0.0/8"))


def test_a_guessing_storm_does_not_lock_the_real_admin_out(proxied: Flask) -> None:
    for n in range(50):
        guess_from(proxied, f"203.0.113.{n}")
    assert guess_from(proxied, "203.0.113.1") == 429  # a client that failed waits out the window
    assert guess_from(proxied, "198.51.100.7", "wrong") == 401  # a fresh client may try once…
    assert guess_from(proxied, "198.51.100.7", PASSWORD) == 429  # …and is then held like the rest
    assert guess_from(proxied, "192.0.2.10", PASSWORD) == 302  # the admin, with no failures, gets in


def test_each_forwarded_client_has_its_own_limit_behind_a_trusted_proxy(proxied: Flask) -> None:
    for _ in range(5):
        assert guess_from(proxied, "203.0.113.9") == 401
    assert guess_from(proxied, "203.0.113.9", PASSWORD) == 429
    assert guess_from(proxied, "192.0.2.10", PASSWORD) == 302


def test_forwarded_for_from_an_untrusted_peer_is_ignored(db_url: str) -> None:
    app = create_app(base_env(db_url))  # no FLOWKEEPER_TRUSTED_PROXIES: private peers are not believed
    for n in range(5):
        assert guess_from(app, f"203.0.113.{n}") == 401  # a new "address" each time, same peer
    assert guess_from(app, "192.0.2.10", PASSWORD) == 429


@pytest.mark.parametrize(
    ("peer", "forwarded", "expected"),
    [
        ("10.0.0.5", "203.0.113.9", "203.0.113.9"),
        ("10.0.0.5", "1.2.3.4, 203.0.113.9", "203.0.113.9"),  # the client cannot choose its own address
        ("10.0.0.5", "203.0.113.9, 10.0.0.7", "203.0.113.9"),  # a second trusted hop is skipped
        ("198.51.100.1", "203.0.113.9", "198.51.100.1"),  # not a trusted proxy: its header means nothing
        ("10.0.0.5", "", "10.0.0.5"),
        ("10.0.0.5", "not-an-address", "not-an-address"),
    ],
)
def test_client_address_believes_only_configured_proxies(peer: str, forwarded: str, expected: str) -> None:
    assert client_address(peer, forwarded, [ip_network("10.0.0.0/8")]) == expected


def test_trusted_proxies_setting_is_validated() -> None:
    assert load_settings({"FLOWKEEPER_TRUSTED_PROXIES": "10.0.0.0/8, 127.0.0.1"}).admin.trusted_proxies == (
        ip_network("10.0.0.0/8"), ip_network("127.0.0.1/32"))
    with pytest.raises(SettingsError, match="FLOWKEEPER_TRUSTED_PROXIES"):
        load_settings({"FLOWKEEPER_TRUSTED_PROXIES": "the load balancer"})


def test_admin_actions_are_in_the_audit_log_with_who_and_when(app: Flask, admin: FlaskClient) -> None:
    before = datetime.now(UTC)
    post(admin, "/admin/rules/started-without-assignee/override", field="enabled", value="0")
    post(admin, "/admin/rules/started-without-assignee/override", reset="1")
    audit = app.extensions["flowkeeper"].services.store.audit
    entries = audit.page(AuditFilter(tracker="admin"))
    assert [e.action for e in entries] and {e.action for e in entries} == {"admin:override"}
    switched = next(e for e in entries if "enabled set to False" in e.reason)
    assert switched.at >= before - timedelta(seconds=1)
    assert switched.detail["by"] == "admin" and switched.detail["client"] == "127.0.0.1"
    assert switched.detail["rule"] == "started-without-assignee" and len(switched.detail["session"]) == 8
