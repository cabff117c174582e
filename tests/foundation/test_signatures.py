"""Signatures over the raw body, with Atlassian's own test vector."""

from __future__ import annotations

from integration.settings import Secret
from webhooks.signatures import sign_hex, verify_hex_signature, verify_hub_signature

BODY = b'{"field1":1,"field2":"one"}'
VECTOR = "sha256=e8cbe6198cf83d3793b420b7c1b87b4946f566ab85b4326db21b4912a4917593"


def test_jira_vector_verifies() -> None:
    assert verify_hub_signature(BODY, VECTOR, [Secret("my-super-secret")])


def test_any_of_several_secrets_verifies_and_others_do_not() -> None:
    assert verify_hub_signature(BODY, VECTOR, [Secret("old"), Secret("my-super-secret")])
    assert not verify_hub_signature(BODY, VECTOR, [Secret("old"), Secret("other")])


def test_one_changed_byte_fails() -> None:
    assert not verify_hub_signature(BODY.replace(b"one", b"onE"), VECTOR, [Secret("my-super-secret")])


def test_unknown_algorithm_and_garbage_headers_fail() -> None:
    secrets = [Secret("my-super-secret")]
    for header in (None, "", "e8cb", "md5=abc", "sha256="):
        assert not verify_hub_signature(BODY, header, secrets)


def test_linear_hex_signature_over_unicode_body() -> None:
    body = '{"title":"Überprüfen 🚀 — ñ"}'.encode()
    signature = sign_hex(body, "lin_wh_1")
    assert verify_hex_signature(body, signature, [Secret("lin_wh_1")])
    assert verify_hex_signature(body, signature.upper(), [Secret("lin_wh_1")])
    assert not verify_hex_signature(body, signature, [Secret("lin_wh_2")])
