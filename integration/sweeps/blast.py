"""The blast-radius guard: how many items one sweep may change before a person must approve.

The limit is the larger of a fixed number and a share of the open items in the rule's
scope (default 25 items or 10 %), so a small team is protected from a rule edit gone
wrong and a large backlog can still be worked through at a steady pace.
"""

from __future__ import annotations

import math
from collections.abc import Collection

from sqlalchemy import func, select

from integration.store.store import Store
from integration.store.tables import items
from integration.sweeps.config import SweepSettings
from rules.model import StatusCategory

OPEN = (StatusCategory.TODO.value, StatusCategory.IN_PROGRESS.value, StatusCategory.UNKNOWN.value)


def blast_limit(settings: SweepSettings, scope: int) -> int:
    return max(settings.blast_items, math.ceil(settings.blast_share * scope))


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


def hold_reason(changed: int, scope: int, settings: SweepSettings) -> str:
    limit = blast_limit(settings, scope)
    return (f"this sweep would change {changed} items, more than the blast-radius limit of {limit} "
            f"(the larger of {settings.blast_items} items and {settings.blast_share:.0%} of {scope} open items "
            f"in scope): held for approval")
