"""Held writes as the page lists them: keys in natural order (OPS-2 before OPS-10), each with its comment text.

Pure: the admin reads the comment a held write would post without opening the plan.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from integration.codec import from_jsonable
from rules.model import ActionKind, Plan

_PARTS = re.compile(r"(\d+)")


def natural_key(key: str) -> tuple[Any, ...]:
    """'OPS-10' → ('ops-', 10, ''): numbers compare as numbers, so OPS-2 comes before OPS-10."""
    return tuple(int(part) if part.isdigit() else part.casefold() for part in _PARTS.split(key))


def comment_texts(plan: Any) -> list[str]:
    """The text of each comment a stored plan would post (none when the plan cannot be read back)."""
    try:
        decoded = from_jsonable(Plan, plan)
    except (KeyError, TypeError, ValueError):
        return []
    return [a.comment.plain for a in decoded.actions if a.kind is ActionKind.COMMENT and a.comment is not None]


def held_rows(writes: Iterable[Any]) -> list[dict[str, Any]]:
    return [{"item_key": w.item_key, "summary": w.summary, "writes": w.writes, "state": w.state,
             "comments": comment_texts(w.plan)} for w in sorted(writes, key=lambda w: natural_key(w.item_key))]
