"""Load-time check that every person a rule names exists in `people:` (assign targets, templates)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from rules.errors import did_you_mean
from rules.moves import SPECIAL_TARGETS, assign_target
from rules.templates import TemplateProblem, check_template, people_read

Problem = tuple[tuple[Any, ...], str, bool]
_TEMPLATE_KEYS = {"comment": ("",), "flag": ("comment", "clear_comment")}


def check_people(raw: dict[str, Any], people: Mapping[str, Any]) -> list[Problem]:
    problems: list[Problem] = []
    known = list(people)
    for path, name, value in _actions(raw):
        if name == "assign":
            target = assign_target(value)
            if target not in SPECIAL_TARGETS and target not in people:
                sub: tuple[str, ...] = ("to",) if isinstance(value, dict) else ()
                problems.append(((*path, name, *sub), f"'{target}' is not actor, reporter, nobody or a name in "
                                 f"people:{did_you_mean(target, [*SPECIAL_TARGETS, *known])}", False))
        for sub, source in _templates(name, value):
            try:
                read = people_read(check_template(source))
            except TemplateProblem:
                continue  # reported by the template check itself
            for handle in sorted(read - set(people)):
                problems.append(((*path, name, *sub), f"template names people.{handle}, which people: does not "
                                 f"define{did_you_mean(handle, known)}", False))
    return problems


def _actions(raw: dict[str, Any]) -> Iterator[tuple[tuple[Any, ...], str, Any]]:
    for n, action in enumerate(raw.get("then") or ()):
        (name, value), = action.items()
        yield ("then", n), name, value
    for s, rung in enumerate(raw.get("escalate") or ()):
        for n, action in enumerate(rung.get("then") or ()):
            (name, value), = action.items()
            yield ("escalate", s, "then", n), name, value


def _templates(name: str, value: Any) -> Iterator[tuple[tuple[str, ...], str]]:
    for key in _TEMPLATE_KEYS.get(name, ()):
        source = value if key == "" and isinstance(value, str) else (value.get(key or "body")
                                                                    if isinstance(value, dict) else None)
        if isinstance(source, str):
            yield ((key,) if key else ()), source
