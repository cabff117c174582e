"""Start-up says so when Redis would lose deliveries already answered 200."""

from __future__ import annotations

import logging
from typing import Any

import pytest
import redis as redis_lib
from redis.exceptions import ResponseError

from integration.redis_persistence import persistence_warning, warn_without_persistence


class FakeConfig:
    def __init__(self, config: dict[str, str] | None) -> None:
        self.config = config

    def config_get(self, name: str) -> dict[str, Any]:
        if self.config is None:
            raise ResponseError("unknown command 'CONFIG'")  # as managed Redis answers
        return {name: self.config[name]}


def test_the_test_redis_without_persistence_is_warned_about(redis_url: str,
                                                            caplog: pytest.LogCaptureFixture) -> None:
    """The private test Redis runs with --appendonly no --save '': the real CONFIG answer."""
    with caplog.at_level(logging.WARNING, logger="flowkeeper"):
        warn_without_persistence(redis_lib.Redis.from_url(redis_url))
    assert "Redis keeps nothing on disk (appendonly no, no snapshots)" in caplog.text
    assert "appendonly yes" in caplog.text


def test_snapshots_only_are_named_as_losing_the_last_minutes() -> None:
    message = persistence_warning(FakeConfig({"appendonly": "no", "save": "3600 1 300 100"}))
    assert message is not None and "since its last snapshot" in message


def test_an_append_only_file_or_a_forbidden_config_says_nothing() -> None:
    assert persistence_warning(FakeConfig({"appendonly": "yes", "save": ""})) is None
    assert persistence_warning(FakeConfig(None)) is None
