"""What `rules check --online` must look up on the trackers; the lookup itself is the caller's.

Status names silently stop a rule when renamed (and a transition to a renamed status
fails), so they are checked against each tracker; so are labels rules match on and the team / project keys they are scoped to.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rules.model import Tracker
from rules.moves import TransitionAction
from rules.registry import leaf_conditions
from rules.ruleset import RuleSet


@dataclass
class NamesToCheck:
    status_names: dict[str, set[str]] = field(default_factory=dict)  # name → rules using it
    labels: dict[str, set[str]] = field(default_factory=dict)
    teams: dict[str, set[str]] = field(default_factory=dict)
    custom_fields: dict[str, set[str]] = field(default_factory=dict)  # `custom.<name>` → rules using it
    trackers: set[Tracker] = field(default_factory=set)


def names_to_check(ruleset: RuleSet) -> NamesToCheck:
    out = NamesToCheck()
    for rule in ruleset.rules:
        out.trackers |= rule.trackers
        for team in rule.teams:
            out.teams.setdefault(team, set()).add(rule.name)
        for _, name, value in leaf_conditions(rule.raw_when):
            if name == "status.name":
                for status in _values(value):
                    out.status_names.setdefault(str(status), set()).add(rule.name)
            if name.startswith("custom."):
                out.custom_fields.setdefault(name[len("custom."):], set()).add(rule.name)
            if name == "labels":
                for label in _values(value):
                    out.labels.setdefault(str(label), set()).add(rule.name)
        for status in _transition_targets(rule):  # a renamed status would make the move fail
            out.status_names.setdefault(status, set()).add(rule.name)
    return out


def _transition_targets(rule: Any) -> list[str]:
    return [action.target.status for step in rule.steps for action in step.actions
            if isinstance(action, TransitionAction) and action.target.status]


def _values(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [v for op, arg in value.items() if op not in ("matches", "not_matches", "missing", "present")
                for v in (arg if isinstance(arg, list) else [arg])]
    return value if isinstance(value, list) else [value]
