"""Choosing a Jira transition for a wanted status, from the issue's available transitions.

Jira moves an issue only through its workflow's transitions (`GET …/transitions`), and has
no canceled category: "canceled" is a done-category status together with a resolution
that says the work was not completed (Won't Do, Duplicate, …), or a done status named so.
Pure: the client reads the transitions (with their screen fields) and posts the choice.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from integration.trackers.base import NoTransition
from integration.trackers.jira.fields import CANCELED_RESOLUTIONS, status
from rules.model import Status, StatusCategory, TransitionTarget

WONT_DO_PREFERENCE = ("won't do", "won't fix", "cancelled", "canceled", "declined", "obsolete", "rejected")
DONE_PREFERENCE = ("done", "fixed", "complete", "completed", "resolved")


@dataclass(frozen=True)
class Choice:
    transition_id: str
    fields: Mapping[str, Any]  # what the POST sets on the screen (a resolution), if anything
    to: Status  # the status the issue will be in, canceled when the resolution says so


def _canceled_name(name: str) -> bool:
    folded = name.casefold()
    return folded in CANCELED_RESOLUTIONS or any(w in folded for w in ("cancel", "won't", "wont", "reject"))


def _resolutions(transition: Mapping[str, Any]) -> list[Mapping[str, Any]] | None:
    """The resolutions the transition's screen offers; None when it has no resolution field."""
    field = (transition.get("fields") or {}).get("resolution")
    if not isinstance(field, Mapping):
        return None
    return [v for v in field.get("allowedValues") or () if isinstance(v, Mapping) and v.get("name")]


def _pick(values: Sequence[Mapping[str, Any]], wanted: str | None, preference: Sequence[str],
          canceled: bool) -> Mapping[str, Any] | None:
    if wanted is not None:
        return next((v for v in values if str(v["name"]).casefold() == wanted.casefold()), None)
    by_name = {str(v["name"]).casefold(): v for v in values}
    for name in preference:
        if name in by_name:
            return by_name[name]
    return next((v for v in values if (str(v["name"]).casefold() in CANCELED_RESOLUTIONS) is canceled), None)


def _resolution_field(value: Mapping[str, Any]) -> dict[str, Any]:
    return {"resolution": {"id": str(value["id"])} if value.get("id") is not None else {"name": value["name"]}}


def _close(transition: Mapping[str, Any], target: TransitionTarget, canceled: bool) -> Choice | None:
    """A done-category transition as a close: with a fitting resolution where the screen has one."""
    to = status(transition.get("to"))
    if to.category is not StatusCategory.DONE:
        return None
    values = _resolutions(transition)
    named_canceled = _canceled_name(to.name)
    if values is None:  # no resolution on the screen: only the status name can say "canceled"
        if target.resolution is not None or named_canceled is not canceled:
            return None
        return Choice(str(transition["id"]), {}, _as(to, canceled))
    value = _pick(values, target.resolution, WONT_DO_PREFERENCE if canceled else DONE_PREFERENCE, canceled)
    if value is None or (str(value["name"]).casefold() in CANCELED_RESOLUTIONS or named_canceled) is not canceled:
        return None
    return Choice(str(transition["id"]), _resolution_field(value), _as(to, canceled))


def _as(to: Status, canceled: bool) -> Status:
    return Status(to.name, StatusCategory.CANCELED if canceled else StatusCategory.DONE, to.id)


def _plain(transition: Mapping[str, Any]) -> Choice:
    return Choice(str(transition["id"]), {}, status(transition.get("to")))


def choose(transitions: Sequence[Mapping[str, Any]], target: TransitionTarget) -> Choice:
    """The transition leading to `target`; NoTransition naming the ones there are otherwise."""
    available = [t for t in transitions if t.get("isAvailable", True) and isinstance(t.get("to"), Mapping)]
    found = _by_name(available, target) if target.status else None
    if found is None and target.category is not None:
        found = _by_category(available, target)
    if found is not None:
        return found
    offered = ", ".join(f"{t.get('name')} → {status(t.get('to')).name}" for t in available) or "none"
    raise NoTransition(f"no transition leads {target.label}{_hint(target)} (available: {offered})")


def _by_name(available: Sequence[Mapping[str, Any]], target: TransitionTarget) -> Choice | None:
    wanted = str(target.status).casefold()
    for transition in available:
        to = status(transition.get("to"))
        if to.name.casefold() != wanted:
            continue
        if to.category is StatusCategory.DONE:
            return _close(transition, target, canceled=False) or _close(transition, target, canceled=True)
        return _plain(transition)
    return None


def _by_category(available: Sequence[Mapping[str, Any]], target: TransitionTarget) -> Choice | None:
    category = target.category
    if category in (StatusCategory.DONE, StatusCategory.CANCELED):
        canceled = category is StatusCategory.CANCELED
        choices = [c for t in available if (c := _close(t, target, canceled)) is not None]
        # a status named for cancelling beats a generic Done with a Won't Do resolution
        choices.sort(key=lambda c: _canceled_name(c.to.name) is not canceled)
        return choices[0] if choices else None
    return next((_plain(t) for t in available if status(t.get("to")).category is category), None)


def _hint(target: TransitionTarget) -> str:
    if target.category is StatusCategory.CANCELED:
        return (" — Jira has no canceled category: it needs a done status named like Won't Do, or a "
                "resolution field with a not-completed resolution on the close transition's screen")
    return ""
