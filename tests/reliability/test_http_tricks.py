"""Header tricks over a real socket to gunicorn: lying lengths, chunked bodies, doubled headers.

The test client cannot send a request whose Content-Length lies or whose length is not
announced at all; a raw socket can, and gunicorn is what production runs.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from contextlib import ExitStack

import pytest

from tests.foundation.helpers import JIRA_SECRET, live_jira_fixture
from tests.reliability.stack import Stack, start_stack
from webhooks.signatures import sign_hub

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with ExitStack() as exits:
        yield start_stack(
            tmp_path_factory.mktemp("tricks"),
            exits,
            extra_env={"FLOWKEEPER_MAX_BODY_BYTES": "65536"},
            web_workers=1,
        )


def raw(stack: Stack, head: str, body: bytes = b"", timeout: float = 10.0) -> tuple[int, bytes, float]:
    """Send bytes as they are; the whole answer (status line, headers, body) and its time."""
    host, port = stack.web.removeprefix("http://").split(":")
    started = time.monotonic()
    with socket.create_connection((host, int(port)), timeout=timeout) as conn:
        conn.sendall(head.replace("\n", "\r\n").encode("latin-1") + b"\r\n" + body)
        answer = b""
        while True:  # Connection: close — the server ends the answer, body included
            chunk = conn.recv(65536)
            if not chunk:
                break
            answer += chunk
    status = int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/") else 0
    return status, answer, time.monotonic() - started


def head(path: str, *lines: str) -> str:
    return "\n".join([f"POST {path} HTTP/1.1", "Host: localhost", "Connection: close", *lines, ""])


def test_a_huge_announced_length_is_refused_before_any_body(stack: Stack) -> None:
    status, _, took = raw(
        stack,
        head(
            "/webhooks/jira",
            "Content-Type: application/json",
            f"Content-Length: {10**12}",
            "X-Hub-Signature: sha256=00",
        ),
    )
    assert status == 413 and took < 5


def test_an_unannounced_chunked_body_over_the_limit_is_413(stack: Stack) -> None:
    chunk = b"a" * 30_000
    body = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(4)) + b"0\r\n\r\n"
    status, _, _ = raw(
        stack,
        head(
            "/webhooks/jira",
            "Content-Type: application/json",
            "Transfer-Encoding: chunked",
            "X-Hub-Signature: sha256=00",
        ),
        body,
    )
    assert status == 413


def test_a_signed_chunked_body_is_accepted(stack: Stack) -> None:
    body = json.dumps(live_jira_fixture("jira_issue_updated.status_change.cloud-2024.json")).encode()
    chunked = b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
    status, answer, _ = raw(
        stack,
        head(
            "/webhooks/jira",
            "Content-Type: application/json",
            "Transfer-Encoding: chunked",
            f"X-Hub-Signature: {sign_hub(body, JIRA_SECRET)}",
            "X-Atlassian-Webhook-Identifier: chunked-1",
        ),
        chunked,
    )
    assert status == 200 and b"queued" in answer


def test_two_signature_headers_do_not_combine_into_a_pass(stack: Stack) -> None:
    body = json.dumps(live_jira_fixture("jira_issue_updated.status_change.cloud-2024.json")).encode()
    status, _, _ = raw(
        stack,
        head(
            "/webhooks/jira",
            "Content-Type: application/json",
            f"Content-Length: {len(body)}",
            "X-Hub-Signature: sha256=00",
            f"X-Hub-Signature: {sign_hub(body, 'guess')}",
        ),
        body,
    )
    assert status == 401


def test_non_ascii_header_bytes_are_a_401_not_a_crash(stack: Stack) -> None:
    body = b"{}"
    status, _, _ = raw(
        stack,
        head(
            "/webhooks/jira",
            "Content-Type: application/json",
            "Content-Length: 2",
            "X-Hub-Signature: sha256=\xff\xfe",
        ),
        body,
    )
    assert status == 401
