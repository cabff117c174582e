"""The admin section of the settings: the admin page's password, the key that signs its sessions,
and the proxies whose `X-Forwarded-For` is believed (login limits, the audit log)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from ipaddress import IPv4Network, IPv6Network, ip_network

from integration.settings_values import Secret, SettingsError, text_of


@dataclass(frozen=True)
class AdminSettings:
    password: Secret = Secret("")  # ADMIN_PASSWORD: unset disables the admin page
    secret_key: Secret = Secret("")  # SECRET_KEY: signs sessions and CSRF tokens (random per process if unset)
    trusted_proxies: tuple[IPv4Network | IPv6Network, ...] = ()  # FLOWKEEPER_TRUSTED_PROXIES


def networks(env: Mapping[str, str], name: str) -> tuple[IPv4Network | IPv6Network, ...]:
    """Comma-separated addresses or CIDR ranges (`10.0.0.0/8,127.0.0.1`)."""
    found = []
    for part in filter(None, (p.strip() for p in text_of(env, name).split(","))):
        try:
            found.append(ip_network(part, strict=False))
        except ValueError:
            raise SettingsError(f"{name} must list IP addresses or ranges like 10.0.0.0/8 (got {part!r})") from None
    return tuple(found)


def load_admin_settings(env: Mapping[str, str]) -> AdminSettings:
    return AdminSettings(Secret(text_of(env, "ADMIN_PASSWORD")), Secret(text_of(env, "SECRET_KEY")),
                         networks(env, "FLOWKEEPER_TRUSTED_PROXIES"))
