"""What reports read besides the store: the rule set (which rules find stalled work) and target dates."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import date
from typing import Any

from integration.reports.scope import RuleCatalog
from integration.store.store import Store

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
