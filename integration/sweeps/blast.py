"""The blast-radius guard: how many items one sweep may change before a person must approve.

The limit is the larger of a fixed number and the exact share of the open items in the
rule's scope (default 25 items or 10 %; a rule may set its own), so a small team is protected from a rule edit gone
wrong and a large backlog can still be worked through at a steady pace.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import func, select

from integration.settings_sweeps import SweepSettings
from integration.store.store import Store
from integration.store.tables import items
from rules.model import StatusCategory
from rules.ruleset import SweepLimits

OPEN = (StatusCategory.TODO.value, StatusCategory.IN_PROGRESS.value, StatusCategory.UNKNOWN.value)


def blast_limit(settings: SweepSettings, scope: int, limits: SweepLimits | None = None) -> float:
    """The larger of the fixed number and the exact share of the scope (3.5 for 50 % of 7, not 4).

    A rule's own `sweep: blast_radius` wins over the deployment's setting, part by part.
    """
    items, share = _radius(settings, limits)
    return max(float(items), share * scope)


def _radius(settings: SweepSettings, limits: SweepLimits | None) -> tuple[int, float]:
    items = limits.blast_items if limits is not None and limits.blast_items is not None else settings.blast_items
    share = limits.blast_share if limits is not None and limits.blast_share is not None else settings.blast_share
    return items, share


def write_budget(settings: SweepSettings, limits: SweepLimits | None = None) -> int:
    """Tracker writes one run of a rule may make: the rule's own budget, else the deployment's."""
    return limits.write_budget if limits is not None and limits.write_budget is not None else settings.write_budget


def scope_size(store: Store, tracker: str, teams: Collection[str], seen: int) -> int:
    """Open items in the rule's scope, from the mirror; at least the candidates the sweep saw."""
    query = select(func.count()).select_from(items).where(
        items.c.tracker == tracker, items.c.deleted.is_(False), items.c.status_category.in_(OPEN)
    )
    if teams:
        query = query.where(items.c.team.in_(sorted(teams)))
    with store.engine.connect() as conn:
        mirrored = int(conn.execute(query).scalar() or 0)
    return max(mirrored, seen)


def hold_reason(changed: int, scope: int, settings: SweepSettings, limits: SweepLimits | None = None) -> str:
    items, share = _radius(settings, limits)
    limit = blast_limit(settings, scope, limits)
    return (f"this sweep would change {changed} items, more than the blast-radius limit of {limit:g} "
            f"(the larger of {items} items and {share:.0%} of {scope} open items "
            f"in scope): held for approval")
