"""The reports section of the settings: which statuses each team counts as waiting (flow efficiency), and
how many connections a report reads on at once."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from integration.settings_values import SettingsError, env_int, text_of


@dataclass(frozen=True)
class ReportSettings:
    # FLOWKEEPER_WAITING_STATUSES: team key (or "*") → status names counted as waiting
    waiting_statuses: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # FLOWKEEPER_REPORT_CONNECTIONS: sections run side by side on this many connections (0: one per CPU
    # core, at most 3; 1: one after the other)
    connections: int = 0


def waiting_statuses(env: Mapping[str, str]) -> dict[str, tuple[str, ...]]:
    """`ENG=In Review,Blocked;*=Blocked` → {"ENG": ("In Review", "Blocked"), "*": ("Blocked",)}."""
    name, out = "FLOWKEEPER_WAITING_STATUSES", {}
    for part in filter(None, (p.strip() for p in text_of(env, name).split(";"))):
        team, sep, names = part.partition("=")
        statuses = tuple(filter(None, (n.strip() for n in names.split(","))))
        if not sep or not team.strip() or not statuses:
            raise SettingsError(f"{name} takes TEAM=Status,Status;… with * for every team (got {part!r})")
        out[team.strip()] = statuses
    return out


def load_report_settings(env: Mapping[str, str]) -> ReportSettings:
    return ReportSettings(waiting_statuses=waiting_statuses(env),
                          connections=env_int(env, "FLOWKEEPER_REPORT_CONNECTIONS", 0))
