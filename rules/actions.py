"""Action types: comment, add_labels, remove_labels and flag (label + comment, cleared on stop).

Transitions and assignments live in rules.moves; both modules emit through `Emit`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rules.fieldkinds import LABEL
from rules.model import Action, ActionKind, Event, Item
from rules.registry import Problem, actions
from rules.templates import CommentTemplate, TemplateProblem, check_template

_LABELS = {"type": "array", "items": LABEL, "minItems": 1}
_COMMENT = {"anyOf": [{"type": "string", "minLength": 1}, {
    "type": "object", "additionalProperties": False, "required": ["body"],
    "properties": {"body": {"type": "string", "minLength": 1}}}]}
_FLAG = {"type": "object", "additionalProperties": False, "required": ["label"], "properties": {
    "label": LABEL, "comment": {"type": "string", "minLength": 1},
    "clear_comment": {"type": "string", "minLength": 1}}}


@dataclass(frozen=True)
class Emit:
    """Everything an action needs to become concrete Actions for one item."""

    item: Item
    rule: Any  # rules.ruleset.Rule
    frame: Any
    episode: int
    step: str
    reason: str
    dry_run: bool
    event: Event | None = None
    notes: list[str] = field(default_factory=list)  # why an action emitted nothing (for explain)


def _body(template: CommentTemplate, em: Emit) -> Any:
    wip = None
    if em.item.assignee is not None:
        wip = em.frame.ctx.wip_by_assignee.get(em.item.assignee.id)
    actor = em.event.actor if em.event is not None else None
    return template.render(em.item, em.frame.now, em.rule.calendar, em.rule, wip, em.step, em.rule.age_unit,
                           actor)


def action_of(kind: ActionKind, em: Emit, reason: str | None = None, **kw: Any) -> Action:
    return Action(kind, em.rule.name, reason or em.reason, em.episode, em.step, dry_run=em.dry_run, **kw)


class CommentAction:
    def __init__(self, template: CommentTemplate) -> None:
        self.template = template
        self.flag_label: str | None = None

    def emit(self, em: Emit) -> list[Action]:
        return [action_of(ActionKind.COMMENT, em, comment=_body(self.template, em))]

    def clear(self, em: Emit) -> list[Action]:
        return []


class LabelAction:
    def __init__(self, kind: ActionKind, labels: list[str]) -> None:
        self.kind, self.labels, self.flag_label = kind, tuple(labels), None

    def emit(self, em: Emit) -> list[Action]:
        have = {x.casefold() for x in em.item.labels}
        wanted = [x for x in self.labels if (x.casefold() in have) is (self.kind is ActionKind.REMOVE_LABELS)]
        return [action_of(self.kind, em, labels=tuple(wanted))] if wanted else []

    def clear(self, em: Emit) -> list[Action]:
        return []


class FlagAction:
    def __init__(self, label: str, comment: CommentTemplate | None, clear_comment: CommentTemplate | None) -> None:
        self.flag_label, self.comment, self.clear_comment = label, comment, clear_comment

    def emit(self, em: Emit) -> list[Action]:
        out = LabelAction(ActionKind.ADD_LABELS, [self.flag_label]).emit(em)
        if self.comment is not None:
            out.append(action_of(ActionKind.COMMENT, em, comment=_body(self.comment, em)))
        return out

    def clear(self, em: Emit) -> list[Action]:
        own, flag = em.frame.ctx.own_labels, self.flag_label.casefold()
        if own is not None and flag not in own and any(x.casefold() == flag for x in em.item.labels):
            return []  # a label of the same name a person put on (or put back) is theirs to remove
        out = LabelAction(ActionKind.REMOVE_LABELS, [self.flag_label]).emit(em)
        if self.clear_comment is not None:
            out.append(action_of(ActionKind.COMMENT, em, comment=_body(self.clear_comment, em)))
        return out


def _template_problems(value: Any, *paths: str) -> list[Problem]:
    problems: list[Problem] = []
    for path in paths:
        source = value.get(path) if isinstance(value, dict) and path else value
        if isinstance(source, str):
            try:
                check_template(source)
            except TemplateProblem as exc:
                problems.append((path, str(exc), source))
    return problems


def _comment_source(value: Any) -> str:
    return value["body"] if isinstance(value, dict) else value


@actions.register("comment", _COMMENT,
                  validate=lambda v: _template_problems(_comment_source(v), ""))
def comment(value: Any) -> CommentAction:
    """Post a comment rendered from a Jinja2 template (sandboxed); `{{ assignee.mention }}`
    becomes a real mention on either tracker.

    Example::

        comment: "{{ assignee.mention }} this bug needs a priority before work starts."
    """
    return CommentAction(check_template(_comment_source(value)))


@actions.register("add_labels", _LABELS)
def add_labels(value: list[str]) -> LabelAction:
    """Add labels the item does not have yet (a diff, never an overwrite).

    Example::

        add_labels: [needs-estimate]
    """
    return LabelAction(ActionKind.ADD_LABELS, value)


@actions.register("remove_labels", _LABELS)
def remove_labels(value: list[str]) -> LabelAction:
    """Remove labels the item carries.

    Example::

        remove_labels: [needs-triage]
    """
    return LabelAction(ActionKind.REMOVE_LABELS, value)


@actions.register("flag", _FLAG, validate=lambda v: _template_problems(v, "comment", "clear_comment"))
def flag(value: dict[str, Any]) -> FlagAction:
    """Set a plain label and post a comment once; when the rule stops holding, the label is
    removed (and `clear_comment`, if given, is posted).

    Example::

        flag:
          label: stalled
          comment: "{{ assignee.mention }} no activity for {{ last_activity | age }} in {{ status.name }}."
    """
    def opt(key: str) -> CommentTemplate | None:
        return check_template(value[key]) if key in value else None
    return FlagAction(value["label"], opt("comment"), opt("clear_comment"))
