"""A rule's write, keyed for rule hygiene when its audit entry is written.

The executor names each write `rule/episode/step/kind` (the entry's `detail["identity"]`). Rule
hygiene counts a flag as one episode of a rule on an item, opened by its first write and cleared
by a write of step `close-<rung>` (`close` in entries written before rungs had their own). The
audit log keeps both cut from the identity (`audit_log.episode`, `audit_log.clears`), so the
report groups on two short columns instead of parsing every entry's JSON.

The cut is the one the report made in SQL, character for character: the identity's text after the
rule's length and a slash, the episode up to the next slash (empty when there is none), and the
write clears when `/close-` or `/close/` follows the episode. Migration 0017 cuts the entries
already written the same way in SQL, and the report parses the entries written without them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def flag_key(rule: str | None, detail: Mapping[str, Any] | None) -> dict[str, Any]:
    """The kept columns of an audit entry: episode and clears None for an entry of no rule; episode
    None and clears False for one whose detail names no identity."""
    if rule is None:
        return {"episode": None, "clears": None}
    identity = (detail or {}).get("identity")
    if not isinstance(identity, str):
        return {"episode": None, "clears": False}
    rest = identity[len(rule) + 1:]  # "episode/step/kind"
    slash = rest.find("/")
    return {"episode": rest[:slash] if slash >= 0 else "", "clears": "/close-" in rest or "/close/" in rest}
