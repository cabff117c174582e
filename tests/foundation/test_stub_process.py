"""`python -m integration.stubtracker` answers on a loopback port as the trackers do: several
requests on one kept-alive connection, bodies and query strings read as sent, `Connection: close`
honoured."""

from __future__ import annotations

import http.client
import json
import subprocess
from collections.abc import Iterator

import pytest

from tests.processes import free_port, stop, stub_tracker, wait_http
from tests.stub import Stub, jira_issue


@pytest.fixture(scope="module")
def stub() -> Iterator[Stub]:
    port = free_port()
    proc = subprocess.Popen(stub_tracker(port), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        wait_http(f"http://127.0.0.1:{port}/_stub/requests", proc=proc)
        stub = Stub(f"http://127.0.0.1:{port}")
        stub.seed_jira(jira_issue("KEEP-1"), jira_issue("KEEP-2"))
        yield stub
    finally:
        stop(proc)


def _connection(stub: Stub) -> http.client.HTTPConnection:
    host, port = stub.url.removeprefix("http://").split(":")
    return http.client.HTTPConnection(host, int(port), timeout=10)


def _call(conn: http.client.HTTPConnection, method: str, path: str, body: object = None,
          headers: dict[str, str] | None = None) -> tuple[http.client.HTTPResponse, object]:
    data = None if body is None else json.dumps(body).encode()
    conn.request(method, path, body=data, headers={"Content-Type": "application/json", **(headers or {})})
    answer = conn.getresponse()
    return answer, json.loads(answer.read())


def test_one_connection_carries_a_comment_round_trip(stub: Stub) -> None:
    conn = _connection(stub)
    try:
        answer, issue = _call(conn, "GET", "/rest/api/3/issue/KEEP-1?fields=summary,status")
        first_socket = conn.sock
        assert answer.status == 200 and issue["key"] == "KEEP-1"  # type: ignore[index]
        text = {"type": "doc", "version": 1, "content": [{"type": "paragraph", "content": [
            {"type": "text", "text": "Stalled — 3 days in progress"}]}]}
        answer, comment = _call(conn, "POST", "/rest/api/3/issue/KEEP-1/comment", {"body": text})
        assert answer.status == 201 and comment["body"] == text  # type: ignore[index]
        answer, listed = _call(conn, "GET", "/rest/api/3/issue/KEEP-1/comment")
        assert [c["id"] for c in listed["comments"]] == [comment["id"]]  # type: ignore[index]
        assert conn.sock is first_socket  # the same TCP connection all along
    finally:
        conn.close()
    seen = [r for r in stub.requests() if r["path"].startswith("/rest/api/3/issue/KEEP-1")]
    assert seen[0]["query"] == {"fields": "summary,status"}
    assert seen[1]["json"] == {"body": text}


def test_connection_close_is_honoured(stub: Stub) -> None:
    conn = _connection(stub)
    try:
        answer, issue = _call(conn, "GET", "/rest/api/3/issue/KEEP-2", headers={"Connection": "close"})
        assert answer.status == 200 and issue["key"] == "KEEP-2"  # type: ignore[index]
        assert answer.getheader("Connection") == "close"
        assert conn.sock is None  # the client saw the stub close it
    finally:
        conn.close()


def test_connection_serves_on_after_a_404(stub: Stub) -> None:
    conn = _connection(stub)
    try:
        conn.request("GET", "/rest/api/3/issue/NOPE-9")
        missing = conn.getresponse()
        missing.read()
        assert missing.status == 404
        answer, issue = _call(conn, "GET", "/rest/api/3/issue/KEEP-2")  # the connection still serves
        assert answer.status == 200 and issue["key"] == "KEEP-2"  # type: ignore[index]
    finally:
        conn.close()
