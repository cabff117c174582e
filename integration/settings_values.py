"""The vocabulary every settings section parses with: the error, the secret, the value readers.

A leaf module (standard library only), so each feature's section (`settings_sweeps`,
`settings_digests`, …) can parse its variables without importing the whole settings
object, and the settings object can import every section without a cycle.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta


class SettingsError(ValueError):
    """A configuration value is wrong; the message names the variable."""


class Secret:
    """A secret value that never appears in repr/str (logs, pages, tracebacks)."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __repr__(self) -> str:
        return "Secret('***')" if self._value else "Secret('')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


def text_of(env: Mapping[str, str], name: str) -> str:
    """The variable's value without surrounding blanks ('' when unset)."""
    return env.get(name, "").strip()


def flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = text_of(env, name).lower()
    if raw == "":
        return default
    if raw in {"1", "true", "yes", "on"}:
        return True
    if raw in {"0", "false", "no", "off"}:
        return False
    raise SettingsError(f"{name} must be 0 or 1 (got {raw!r})")


def env_int(env: Mapping[str, str], name: str, default: int, minimum: int = 0) -> int:
    """A whole-number variable; the error names it."""
    raw = text_of(env, name)
    if raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number (got {raw!r})") from None
    if value < minimum:
        raise SettingsError(f"{name} must be at least {minimum} (got {value})")
    return value


def env_hours(env: Mapping[str, str], name: str, default: timedelta, minimum_hours: int = 1) -> timedelta:
    """A duration in whole hours (`6` or `6h`); the error names the variable."""
    raw = text_of(env, name).lower().removesuffix("h").strip()
    if raw == "":
        return default
    if not raw.isdigit() or int(raw) < minimum_hours:
        raise SettingsError(f"{name} must be a whole number of hours, at least {minimum_hours} "
                            f"(got {env.get(name)!r})")
    return timedelta(hours=int(raw))
