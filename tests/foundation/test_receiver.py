"""Each guard of the receiver, posted through the real app on a real Redis queue."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator

import pytest
import redis as redis_lib
from flask.testing import FlaskClient
from rq import Queue

from integration.app import create_app
from integration.queue import QUEUE_NAME
from tests.foundation.helpers import (
    JIRA_SECRET,
    LINEAR_SECRET,
    MINIMAL_RULES,
    fixture,
    jira_request,
    linear_request,
)

JIRA_UPDATED = "jira_issue_updated.status_change.cloud-2024.json"
LINEAR_UPDATED = "issue_update.state_change.2021.json"


@pytest.fixture
def app_env(db_url: str, redis_url: str) -> dict[str, str]:
    return {"DATABASE_URL": db_url, "REDIS_URL": redis_url, "JIRA_WEBHOOK_SECRET": f"old-secret,{JIRA_SECRET}",
            "LINEAR_WEBHOOK_SECRET": LINEAR_SECRET, "FLOWKEEPER_MAX_BODY_BYTES": "65536",
            "RULES_DIR": str(MINIMAL_RULES)}


@pytest.fixture
def client(app_env: dict[str, str]) -> Iterator[FlaskClient]:
    yield create_app(app_env).test_client()


def queued(redis_url: str) -> int:
    return Queue(QUEUE_NAME, connection=redis_lib.Redis.from_url(redis_url)).count


def test_signed_jira_delivery_is_queued_once(client: FlaskClient, redis_url: str) -> None:
    body, headers = jira_request(fixture("jira", JIRA_UPDATED), delivery="d-1")
    first = client.post("/webhooks/jira", data=body, headers=headers)
    again = client.post("/webhooks/jira", data=body, headers={**headers, "X-Atlassian-Webhook-Retry": "1"})
    assert (first.status_code, first.json["status"]) == (200, "queued")
    assert (again.status_code, again.json["status"]) == (200, "duplicate")
    assert first.json["item"] == "GBL-142"
    assert first.headers["Content-Type"] == "application/json"
    assert first.data == b'{"delivery":"d-1","item":"GBL-142","status":"queued"}\n', "Flask's jsonify text"
    assert queued(redis_url) == 1


def test_wrong_signature_is_401(client: FlaskClient, redis_url: str) -> None:
    body, headers = jira_request(fixture("jira", JIRA_UPDATED), secret="not-the-secret")
    response = client.post("/webhooks/jira", data=body, headers=headers)
    assert response.status_code == 401 and response.json["status"] == "bad_signature"
    assert queued(redis_url) == 0


def test_missing_secret_refuses_and_names_the_variable(db_url: str, redis_url: str) -> None:
    app = create_app({"DATABASE_URL": db_url, "REDIS_URL": redis_url, "RULES_DIR": str(MINIMAL_RULES)})
    body, headers = jira_request(fixture("jira", JIRA_UPDATED))
    response = app.test_client().post("/webhooks/jira", data=body, headers=headers)
    assert response.status_code == 401 and "JIRA_WEBHOOK_SECRET" in response.json["reason"]


def test_allow_unsigned_accepts_unsigned(db_url: str, redis_url: str) -> None:
    app = create_app({"DATABASE_URL": db_url, "REDIS_URL": redis_url, "FLOWKEEPER_ALLOW_UNSIGNED": "1",
                      "RULES_DIR": str(MINIMAL_RULES)})
    body = json.dumps(fixture("linear", LINEAR_UPDATED)).encode()
    response = app.test_client().post("/webhooks/linear", data=body, headers={"Linear-Delivery": "u-1"})
    assert response.status_code == 200 and response.json["status"] == "queued"


def test_linear_timestamp_two_minutes_old_is_401(client: FlaskClient) -> None:
    stale = int(time.time() * 1000) - 120_000
    body, headers = linear_request(fixture("linear", LINEAR_UPDATED), timestamp_ms=stale)
    response = client.post("/webhooks/linear", data=body, headers=headers)
    assert response.status_code == 401 and response.json["status"] == "stale"


def test_linear_fresh_delivery_and_old_envelope_are_queued(client: FlaskClient) -> None:
    fresh_body, fresh_headers = linear_request(fixture("linear", LINEAR_UPDATED), timestamp_ms=int(time.time() * 1000))
    old_body, old_headers = linear_request(fixture("linear", LINEAR_UPDATED))  # 2021 envelope: no timestamp
    assert client.post("/webhooks/linear", data=fresh_body, headers=fresh_headers).json["status"] == "queued"
    assert client.post("/webhooks/linear", data=old_body, headers=old_headers).json["status"] == "queued"


def test_malformed_json_is_400_with_a_reason(client: FlaskClient) -> None:
    body, headers = jira_request(b'{"webhookEvent": "jira:issue_updated", ')
    response = client.post("/webhooks/jira", data=body, headers=headers)
    assert response.status_code == 400 and "not JSON" in response.json["reason"]


@pytest.mark.parametrize(
    ("raw", "reason"),
    [(b"\xff\xfe{}", "UTF-8"), (b"[1, 2]", "JSON object"), (b"[" * 5000 + b"]" * 5000, "nested")],
)
def test_bad_bodies_are_400(client: FlaskClient, raw: bytes, reason: str) -> None:
    body, headers = jira_request(raw)
    response = client.post("/webhooks/jira", data=body, headers=headers)
    assert response.status_code == 400 and reason in response.json["reason"]


def test_body_over_the_limit_is_413(client: FlaskClient, redis_url: str) -> None:
    payload = fixture("jira", JIRA_UPDATED)
    payload["padding"] = "x" * 70_000
    body, headers = jira_request(payload)
    response = client.post("/webhooks/jira", data=body, headers=headers)
    assert response.status_code == 413 and queued(redis_url) == 0


def test_uninteresting_event_is_200_ignored(client: FlaskClient, redis_url: str) -> None:
    body, headers = jira_request({"webhookEvent": "jira:version_released", "timestamp": 0})
    response = client.post("/webhooks/jira", data=body, headers=headers)
    assert (response.status_code, response.json["status"]) == (200, "ignored")
    assert queued(redis_url) == 0


def test_redis_down_is_503_and_health_says_so(app_env: dict[str, str]) -> None:
    app = create_app({**app_env, "REDIS_URL": "redis://127.0.0.1:1/0"})
    client = app.test_client()
    body, headers = jira_request(fixture("jira", JIRA_UPDATED))
    response = client.post("/webhooks/jira", data=body, headers=headers)
    assert response.status_code == 503 and response.json["status"] == "unavailable"
    health = client.get("/healthz")
    assert health.status_code == 503 and health.json["database"] == "ok" and health.json["queue"] != "ok"


def test_health_is_200_when_all_is_reachable(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "database": "ok", "queue": "ok", "disk": "ok"}  # SQLite: its disk too


def test_crash_between_dedupe_and_enqueue_loses_nothing(client: FlaskClient, redis_url: str,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """The dedupe mark and the job are one atomic Redis script: a failure leaves neither behind."""
    real = redis_lib.Connection.send_packed_command
    lost = {"on": True}

    def lost_while_on(self: redis_lib.Connection, command: list[bytes], *args: object, **kwargs: object) -> None:
        if lost["on"] and b"EVALSHA" in b"".join(command):
            raise redis_lib.ConnectionError("connection lost mid-enqueue")
        real(self, command, *args, **kwargs)

    monkeypatch.setattr(redis_lib.Connection, "send_packed_command", lost_while_on)
    body, headers = jira_request(fixture("jira", JIRA_UPDATED), delivery="crash-1")
    assert client.post("/webhooks/jira", data=body, headers=headers).status_code == 503
    lost["on"] = False
    retry = client.post("/webhooks/jira", data=body, headers=headers)
    assert retry.json["status"] == "queued", "the tracker's retry is not mistaken for a duplicate"
    assert queued(redis_url) == 1


def test_a_dropped_connection_is_opened_again_and_the_delivery_queued_once(client: FlaskClient, redis_url: str) -> None:
    """Redis closing the receiver's connection (a restart, an idle timeout) costs no delivery a 503."""
    body, headers = jira_request(fixture("jira", JIRA_UPDATED), delivery="drop-1")
    assert client.post("/webhooks/jira", data=body, headers=headers).json["status"] == "queued"
    admin = redis_lib.Redis.from_url(redis_url)
    db = admin.connection_pool.connection_kwargs.get("db", 0)
    receivers = [c["id"] for c in admin.client_list() if c["cmd"] == "evalsha" and int(c["db"]) == db]
    assert receivers, "the receiver's connection is listed"
    for client_id in receivers:
        admin.client_kill_filter(_id=client_id)
    admin.script_flush()  # as after a restart: Redis no longer knows the enqueue script
    body, headers = jira_request(fixture("jira", JIRA_UPDATED), delivery="drop-2")
    assert client.post("/webhooks/jira", data=body, headers=headers).json["status"] == "queued"
    assert client.post("/webhooks/jira", data=body, headers=headers).json["status"] == "duplicate"
    assert queued(redis_url) == 2


def test_linear_delivery_for_another_organization_is_refused(app_env: dict[str, str]) -> None:
    app = create_app({**app_env, "LINEAR_ORGANIZATION_ID": "org-ours"})
    payload = {**fixture("linear", LINEAR_UPDATED), "organizationId": "org-theirs"}
    body, headers = linear_request(payload)
    response = app.test_client().post("/webhooks/linear", data=body, headers=headers)
    assert response.status_code == 401 and response.json["status"] == "wrong_organization"


def test_another_method_on_a_webhook_path_is_405_and_other_paths_reach_the_app(client: FlaskClient) -> None:
    for method in ("GET", "PUT", "DELETE"):
        response = client.open("/webhooks/jira", method=method)
        assert response.status_code == 405 and response.headers["Allow"] == "POST, OPTIONS", method
    assert client.get("/webhooks/linear").status_code == 405
    assert client.post("/webhooks/jira/").status_code == 404
    assert client.get("/healthz").status_code == 200


def test_options_on_a_webhook_path_names_its_methods_without_signature_or_enqueue(
        client: FlaskClient, redis_url: str) -> None:
    for path in ("/webhooks/jira", "/webhooks/linear"):
        response = client.options(path)
        assert response.status_code == 204, path
        assert response.headers["Allow"] == "POST, OPTIONS" and response.data == b""
    assert queued(redis_url) == 0


def test_a_receiver_crash_is_flasks_500_logged_with_its_path(app_env: dict[str, str], monkeypatch: pytest.MonkeyPatch,
                                                              caplog: pytest.LogCaptureFixture) -> None:
    """An exception no guard expects: the error page, the traceback in the log, and the tracker retries later."""
    app = create_app(app_env)
    monkeypatch.setattr(app.extensions["flowkeeper"].services.queue, "submit",
                        lambda *args: (_ for _ in ()).throw(RuntimeError("bug in the queue")))
    body, headers = jira_request(fixture("jira", JIRA_UPDATED), delivery="bug-1")
    response = app.test_client().post("/webhooks/jira", data=body, headers=headers)
    assert response.status_code == 500
    assert any("POST" in r.getMessage() and "/webhooks/jira" in r.getMessage() and r.exc_info for r in caplog.records)
    app.testing = True  # tests see the exception itself
    with pytest.raises(RuntimeError, match="bug in the queue"):
        app.test_client().post("/webhooks/jira", data=body, headers=headers)


def test_a_client_gone_before_its_body_arrived_is_400_not_a_server_error(client: FlaskClient) -> None:
    body, headers = jira_request(fixture("jira", JIRA_UPDATED), delivery="gone-1")
    response = client.post("/webhooks/jira", data=b"", headers=headers, environ_overrides={"CONTENT_LENGTH": "4096"})
    assert response.status_code == 400


def test_a_client_gone_mid_body_is_400_not_a_signature_failure(client: FlaskClient, redis_url: str) -> None:
    body, headers = jira_request(fixture("jira", JIRA_UPDATED), delivery="gone-2")
    response = client.post("/webhooks/jira", data=body[:100], headers=headers,
                           environ_overrides={"CONTENT_LENGTH": str(len(body))})
    assert response.status_code == 400 and queued(redis_url) == 0


def test_a_body_the_server_ends_without_a_length_is_read_to_its_end(client: FlaskClient, redis_url: str) -> None:
    """gunicorn's chunked bodies: no length, the stream ended by the server (`wsgi.input_terminated`)."""
    body, headers = jira_request(fixture("jira", JIRA_UPDATED), delivery="chunked-1")
    response = client.post("/webhooks/jira", data=body, headers={**headers, "Transfer-Encoding": "chunked"},
                           environ_overrides={"wsgi.input_terminated": True})
    assert (response.status_code, response.json["status"]) == (200, "queued") and queued(redis_url) == 1


def test_an_unended_stream_without_a_length_is_not_read(client: FlaskClient, redis_url: str) -> None:
    """A stream with neither a length nor the server's end is never read (it could last forever): an empty body."""
    body, headers = jira_request(fixture("jira", JIRA_UPDATED), delivery="chunked-2")
    response = client.post("/webhooks/jira", data=body, headers={**headers, "Transfer-Encoding": "chunked"})
    assert response.status_code == 401 and queued(redis_url) == 0


def test_an_unended_stream_over_the_cap_is_413(client: FlaskClient) -> None:
    body, headers = jira_request({"padding": "x" * 70_000}, delivery="chunked-3")
    response = client.post("/webhooks/jira", data=body, headers={**headers, "Transfer-Encoding": "chunked"},
                           environ_overrides={"wsgi.input_terminated": True})
    assert (response.status_code, response.json["status"]) == (413, "too_large")


def test_header_names_are_case_insensitive(client: FlaskClient) -> None:
    body, headers = jira_request(fixture("jira", JIRA_UPDATED), delivery="Case-1")
    response = client.post("/webhooks/jira", data=body, headers={k.lower(): v for k, v in headers.items()})
    assert (response.status_code, response.json["delivery"]) == (200, "Case-1")


def test_a_jira_retry_is_logged_with_its_count(client: FlaskClient, caplog: pytest.LogCaptureFixture) -> None:
    body, headers = jira_request(fixture("jira", JIRA_UPDATED), delivery="r-1")
    with caplog.at_level(logging.INFO, logger="flowkeeper.webhooks"):
        client.post("/webhooks/jira", data=body, headers={**headers, "X-Atlassian-Webhook-Retry": "2"})
    retries = [r for r in caplog.records if r.getMessage() == "webhook.jira.retry"]
    assert [getattr(r, "retry", None) for r in retries] == ["2"]


@pytest.mark.parametrize("value", ["d-1", "Ünïcode", 'a "quoted" id', "back\\slash", "tab\there", "\x00\x1f\x7f",
                                   "emoji \U0001f600", "lone \ud800", "</script>", ""])
def test_an_answer_is_flasks_jsonify_text_whatever_it_holds(value: str) -> None:
    from webhooks.receiver import answer_text

    body = {"status": "queued", "delivery": value, "item": "A-1", "reason": value}
    assert answer_text(body) == (json.dumps(body, ensure_ascii=True, sort_keys=True, separators=(",", ":")) + "\n").encode()
