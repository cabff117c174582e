"""Action types that move an item: transition, reopen, assign, unassign.

Each decides purely, on the item and the event, whether there is anything to do; when
there is not (already there, no actor to assign to, the actor is a bot) it emits nothing
and leaves a note the engine turns into the rule's "no action" reason. The executor
writes, and checks the fresh item again first, so a retry never moves an item twice.
"""

from __future__ import annotations

from typing import Any

from rules.actions import Emit, action_of
from rules.model import Action, ActionKind, ActorKind, Person, StatusCategory, TransitionTarget
from rules.people import PersonEntry
from rules.registry import Problem, actions

CATEGORY_WORDS = ("todo", "in_progress", "done", "canceled")
_OPEN = (StatusCategory.TODO, StatusCategory.IN_PROGRESS)
_REASON = {"type": "string", "minLength": 1, "maxLength": 500,
           "description": "why: shown in the audit log, `explain` and the Held page"}
_TRANSITION = {"anyOf": [{"type": "string", "minLength": 1}, {
    "type": "object", "additionalProperties": False, "minProperties": 1,
    "properties": {"to": {"enum": list(CATEGORY_WORDS)}, "status": {"type": "string", "minLength": 1},
                   "resolution": {"type": "string", "minLength": 1}, "reason": _REASON}}]}
_REOPEN = {"anyOf": [{"const": True}, _REASON, {
    "type": "object", "additionalProperties": False,
    "properties": {"reason": _REASON, "fallback": {"enum": ["todo", "in_progress"]}}}]}
SPECIAL_TARGETS = ("actor", "reporter", "nobody")
_ASSIGN = {"anyOf": [{"type": "string", "minLength": 1}, {
    "type": "object", "additionalProperties": False, "required": ["to"],
    "properties": {"to": {"type": "string", "minLength": 1}, "reason": _REASON}}]}
_UNASSIGN = {"anyOf": [{"const": True}, {
    "type": "object", "additionalProperties": False, "properties": {"reason": _REASON}}]}


def _with_note(reason: str, note: str | None) -> str:
    return f"{reason} — {note}" if note else reason


class TransitionAction:
    flag_label: str | None = None

    def __init__(self, target: TransitionTarget) -> None:
        self.target = target

    def emit(self, em: Emit) -> list[Action]:
        status = em.item.status
        target = self.target
        if target.status is not None and status.name.casefold() == target.status.casefold():
            em.notes.append(f"already in {status.name}")
            return []
        if target.status is None and status.category is target.category:
            em.notes.append(f"already {status.category.value} ({status.name})")
            return []
        return [action_of(ActionKind.TRANSITION, em, transition=target, reason=_with_note(em.reason, target.note))]

    def clear(self, em: Emit) -> list[Action]:
        return []


class ReopenAction:
    """Back to the status the item had before Flowkeeper closed it; `fallback` when unknown."""

    flag_label: str | None = None
    reads_closure = True  # the judge reads Flowkeeper's last close for a rule set with a reopen

    def __init__(self, note: str | None, fallback: StatusCategory) -> None:
        self.note, self.fallback = note, fallback

    def emit(self, em: Emit) -> list[Action]:
        if em.item.status.category not in (StatusCategory.DONE, StatusCategory.CANCELED):
            em.notes.append(f"not closed ({em.item.status.name or em.item.status.category.value})")
            return []
        closure = em.frame.ctx.closure
        if closure is not None:
            # the category too: a workflow that cannot go straight back still reopens to that kind of status
            previous = closure.previous.category if closure.previous.category in _OPEN else self.fallback
            target = TransitionTarget(previous, closure.previous.name, note=self.note, reopen=True)
        else:
            target = TransitionTarget(category=self.fallback, note=self.note, reopen=True)
        return [action_of(ActionKind.TRANSITION, em, transition=target, reason=_with_note(em.reason, self.note))]

    def clear(self, em: Emit) -> list[Action]:
        return []


class AssignAction:
    flag_label: str | None = None

    def __init__(self, to: str, note: str | None) -> None:
        self.to, self.note = to, note

    def emit(self, em: Emit) -> list[Action]:
        if self.to == "nobody":
            return UnassignAction(self.note).emit(em)
        person, why = self._who(em)
        if person is None:
            em.notes.append(why)
            return []
        current = em.item.assignee
        if current is not None and person.id and current.id == person.id:
            em.notes.append(f"already assigned to {current.name or current.id}")
            return []
        return [action_of(ActionKind.ASSIGN, em, assignee=person, reason=_with_note(em.reason, self.note))]

    def _who(self, em: Emit) -> tuple[Person | None, str]:
        if self.to == "actor":
            actor = em.event.actor if em.event is not None else None
            if actor is None:
                return None, "no one to assign: this event has no actor (a sweep has none)"
            if actor.kind is not ActorKind.HUMAN:
                return None, f"not assigning to {actor.name or actor.id}: a {actor.kind.value}, not a person"
            return actor, ""
        if self.to == "reporter":
            reporter = em.item.reporter
            if reporter is None:
                return None, "no reporter to assign"
            if reporter.kind is not ActorKind.HUMAN:
                return None, f"not assigning to the reporter {reporter.name or reporter.id}: not a person"
            return reporter, ""
        entry: PersonEntry | None = em.rule.people.get(self.to)
        if entry is None:  # the loader refuses unknown names; a rule built by hand may still try
            return None, f"no person named '{self.to}' in people:"
        person = entry.on(em.item.tracker)
        if not person.id and not person.email:
            return None, f"'{self.to}' has no account on {em.item.tracker.value}"
        return person, ""

    def clear(self, em: Emit) -> list[Action]:
        return []


class UnassignAction:
    flag_label: str | None = None

    def __init__(self, note: str | None) -> None:
        self.note = note

    def emit(self, em: Emit) -> list[Action]:
        if em.item.assignee is None:
            em.notes.append("already unassigned")
            return []
        return [action_of(ActionKind.UNASSIGN, em, reason=_with_note(em.reason, self.note))]

    def clear(self, em: Emit) -> list[Action]:
        return []


def transition_target(value: Any) -> TransitionTarget:
    spec = value if isinstance(value, dict) else ({"to": value} if value in CATEGORY_WORDS else {"status": value})
    category = StatusCategory(spec["to"]) if "to" in spec else None
    return TransitionTarget(category, spec.get("status"), spec.get("resolution"), spec.get("reason"))


def _check_transition(value: Any) -> list[Problem]:
    if isinstance(value, dict) and ("to" in value) == ("status" in value):
        return [("", "give either 'to' (a status category) or 'status' (a status name)", value)]
    if isinstance(value, dict) and "resolution" in value and value.get("to") not in ("done", "canceled", None):
        return [("resolution", "a resolution only goes with a close (to: done or canceled)", value["resolution"])]
    return []


@actions.register("transition", _TRANSITION, validate=_check_transition)
def transition(value: Any) -> TransitionAction:
    """Move the item to a status category (`todo`, `in_progress`, `done`, `canceled`) or a
    named status, through the tracker's own workflow: on Jira one of the item's available
    transitions (a canceled close sets a not-completed resolution such as "Won't Do"), on
    Linear the team's workflow state of that type. `reason` is shown in the audit log and
    `explain`. A close is remembered, so `reopen` can return the item where it was. When
    no transition leads there, the audit says why and the rest of the plan still applies.

    Example::

        transition: { to: canceled, reason: "no activity for 60 days" }
    """
    return TransitionAction(transition_target(value))


@actions.register("reopen", _REOPEN)
def reopen(value: Any) -> ReopenAction:
    """Reopen a closed item: back to the status it had before Flowkeeper closed it, or to
    `fallback` (default `todo`) when Flowkeeper did not close it. Nothing happens to an
    item that is not closed.

    Example::

        reopen: { reason: "a person answered after the automatic close" }
    """
    spec = value if isinstance(value, dict) else ({"reason": value} if isinstance(value, str) else {})
    return ReopenAction(spec.get("reason"), StatusCategory(spec.get("fallback", "todo")))


def assign_target(value: Any) -> str:
    return str(value["to"] if isinstance(value, dict) else value)


@actions.register("assign", _ASSIGN)
def assign(value: Any) -> AssignAction:
    """Assign the item to `actor` (the person whose change this event reports), `reporter`,
    a person named in `people:`, or `nobody`. Never to a bot or to Flowkeeper itself; an
    item already assigned so is left alone, with the reason in `explain`.

    Example::

        assign: actor
    """
    return AssignAction(assign_target(value), value.get("reason") if isinstance(value, dict) else None)


@actions.register("unassign", _UNASSIGN)
def unassign(value: Any) -> UnassignAction:
    """Take the assignee off the item (nothing to do when it has none).

    Example::

        unassign: { reason: "no update for 10 business days after the warning" }
    """
    return UnassignAction(value.get("reason") if isinstance(value, dict) else None)
