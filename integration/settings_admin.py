"""The admin section of the settings: the admin page's password and the key that signs its sessions."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from integration.settings_values import Secret, text_of


@dataclass(frozen=True)
class AdminSettings:
    password: Secret = Secret("")  # ADMIN_PASSWORD: unset disables the admin page
    secret_key: Secret = Secret("")  # SECRET_KEY: signs sessions and CSRF tokens (random per process if unset)


def load_admin_settings(env: Mapping[str, str]) -> AdminSettings:
    return AdminSettings(Secret(text_of(env, "ADMIN_PASSWORD")), Secret(text_of(env, "SECRET_KEY")))
