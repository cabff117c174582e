"""Check captured requests against Atlassian's published OpenAPI spec.

The spec lives in the project's reference folder, not in the repository: on a clone
without it the checks skip with that reason; CI has it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from jira_fixtures import REFERENCE
from jsonschema import Draft7Validator

SPEC_FILES = ("swagger-v3.v3.json", "openapi-subset.json")  # the full spec first


@lru_cache(maxsize=1)
def spec() -> dict[str, Any]:
    for name in SPEC_FILES:
        path = REFERENCE / name
        if path.exists():
            return json.loads(path.read_text(encoding="utf-8"))
    pytest.skip(f"Jira OpenAPI spec not found in {REFERENCE} (reference folder absent on this clone)")


def operation(method: str, path: str) -> dict[str, Any]:
    for template, operations in spec()["paths"].items():
        pattern = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$"
        if re.match(pattern, path) and method.lower() in operations:
            return operations[method.lower()]
    raise AssertionError(f"{method} {path} is not an operation of the Jira Cloud REST API")


def check_request(method: str, url: str, body: bytes | str | None) -> None:
    """Query names the operation declares; a JSON body valid against its request schema."""
    parts = urlsplit(url)
    op = operation(method, parts.path)
    declared = {p["name"] for p in op.get("parameters", []) if p.get("in") == "query"}
    sent = {name for name, _ in parse_qsl(parts.query, keep_blank_values=True)}
    assert sent <= declared, f"{method} {parts.path}: undeclared query parameters {sorted(sent - declared)}"
    schema = (op.get("requestBody") or {}).get("content", {}).get("application/json", {}).get("schema")
    if body is None:
        assert schema is None or not op["requestBody"].get("required"), f"{method} {parts.path} needs a body"
        return
    assert schema is not None, f"{method} {parts.path} takes no JSON body"
    document = json.loads(body)
    validator = Draft7Validator({**schema, "components": spec()["components"]})
    errors = sorted(validator.iter_errors(document), key=lambda e: list(e.path))
    assert not errors, f"{method} {parts.path}: {errors[0].message} at {list(errors[0].path)}"


def check_calls(calls: Iterable[Any]) -> int:
    """Check every request `responses` recorded; returns how many were checked."""
    count = 0
    for call in calls:
        check_request(call.request.method, call.request.url, call.request.body)
        count += 1
    return count
