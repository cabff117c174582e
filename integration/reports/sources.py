"""What reports read besides the store: the rule set (which rules find stalled work) and target dates."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import date
from typing import Any

from sqlalchemy import Engine, select

from integration.reports.scope import RuleCatalog, ScopeError
from integration.store.db import read_connection
from integration.store.store import Store
from integration.store.tables import items

log = logging.getLogger("flowkeeper.reports")

# A mapping {project name: "YYYY-MM-DD"} a Linear sync may keep in the service state.
LINEAR_TARGETS_KEY = "linear.project_targets"


def catalog_from_rules_dir(rules_dir: Any) -> RuleCatalog:
    """The catalog of the rule files a process would load (RULES_DIR, else the built-in packs)."""
    from rules.errors import RuleFileError
    from rules.loader import builtin_pack_paths, load_ruleset

    try:
        return RuleCatalog.from_ruleset(load_ruleset([rules_dir] if rules_dir else builtin_pack_paths()))
    except RuleFileError as error:
        log.warning("reports.rules_unavailable: stalled items and flag labels unknown\n%s", error)
        return RuleCatalog()


def project_targets(store: Store) -> dict[tuple[str, str], date]:
    """Target dates of Linear projects, when a sync recorded them (Jira epics carry their own due date)."""
    raw = store.service.get(LINEAR_TARGETS_KEY)
    out: dict[tuple[str, str], date] = {}
    if isinstance(raw, Mapping):
        for name, value in raw.items():
            try:
                out[("linear", str(name))] = date.fromisoformat(str(value)[:10])
            except ValueError:
                log.warning("reports.bad_target_date", extra={"project": name, "value": value})
    return out


def known_teams(engine: Engine) -> list[tuple[str, str]]:
    """(tracker, team key) of every team with an item in the mirror: what a report can be filtered by."""
    query = select(items.c.tracker, items.c.team).where(items.c.team.is_not(None)).distinct()
    with read_connection(engine) as conn:
        return sorted((tracker, team) for tracker, team in conn.execute(query))


def check_teams(asked: list[str], known: list[tuple[str, str]]) -> None:
    """A ScopeError naming the known teams when a team asked for has no item (a typo shows an empty report)."""
    names = sorted({team for _tracker, team in known})
    unknown = [team for team in asked if team not in names]
    if unknown:
        raise ScopeError(f"no team {', '.join(map(repr, unknown))} in the mirror; known teams: "
                         f"{', '.join(names) or 'none yet (run `flowkeeper sync`)'}")
