"""The serve section of the settings: the port and how many web processes `flowkeeper serve` starts."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from integration.settings_values import env_int


@dataclass(frozen=True)
class ServeSettings:
    port: int = 8000  # PORT (Heroku sets it)
    web_concurrency: int = 2  # WEB_CONCURRENCY: gunicorn worker processes (Heroku sets it by dyno size)


def load_serve_settings(env: Mapping[str, str]) -> ServeSettings:
    return ServeSettings(
        port=env_int(env, "PORT", 8000, minimum=1),
        web_concurrency=env_int(env, "WEB_CONCURRENCY", 2, minimum=1),
    )
