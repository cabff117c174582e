"""Choosing a Linear workflow state for a wanted status, among the issue's team's states.

Linear has no transitions: any state of the issue's team may be set. A category maps to
a state type (todo → unstarted, else backlog; in_progress → started; done → completed;
canceled → canceled); the team's first state of that type by position wins, as Linear's
own auto-close picks the team's canceled state. Pure: the client reads and writes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from integration.trackers.base import NoTransition
from rules.model import StatusCategory, TransitionTarget

TYPES: Mapping[StatusCategory, tuple[str, ...]] = {
    StatusCategory.TODO: ("unstarted", "backlog", "triage"),
    StatusCategory.IN_PROGRESS: ("started",),
    StatusCategory.DONE: ("completed",),
    StatusCategory.CANCELED: ("canceled",),
}


def choose_state(states: Sequence[Mapping[str, Any]], target: TransitionTarget) -> Mapping[str, Any]:
    """The state to set; NoTransition naming the team's states when none fits."""
    ordered = sorted(states, key=lambda s: float(s.get("position") or 0))
    if target.status:
        wanted = target.status.casefold()
        named = next((s for s in ordered if str(s.get("name", "")).casefold() == wanted), None)
        if named is not None:
            return named
    for kind in TYPES.get(target.category, ()) if target.category is not None else ():
        typed = next((s for s in ordered if s.get("type") == kind), None)
        if typed is not None:
            return typed
    offered = ", ".join(f"{s.get('name')} ({s.get('type')})" for s in ordered) or "none"
    raise NoTransition(f"the team has no workflow state {target.label} (states: {offered})")
