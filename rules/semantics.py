"""Semantic checks the schema cannot express: regexes, templates, durations, zones, schedules."""

from __future__ import annotations

from typing import Any

from rules.calendar import CalendarError, calendar_from_spec, zone
from rules.compiler import parse_schedule
from rules.registry import actions, conditions, leaf_conditions
from rules.schemaerrors import got

Problem = tuple[tuple[Any, ...], str, bool]
_EVENT_ONLY = ("changed", "actor", "actor.kind")


def check_rule(raw: dict[str, Any], defaults: dict[str, Any]) -> list[Problem]:
    problems: list[Problem] = []
    problems += _walk_condition(raw["when"], ("when",))
    for n, action in enumerate(raw["then"]):
        problems += _check_action(action, ("then", n))
    for s, rung in enumerate(raw.get("escalate", ())):
        for n, action in enumerate(rung["then"]):
            problems += _check_action(action, ("escalate", s, "then", n))
    problems += _check_time(raw, defaults)
    share = raw.get("sweep", {}).get("blast_radius", {}).get("share")
    if isinstance(share, str) and float(share.strip().rstrip("%")) > 100:
        problems.append((("sweep", "blast_radius", "share"), f"a share is at most 100% (got {got(share)})", False))
    triggers = raw["on"] if isinstance(raw["on"], list) else [raw["on"]]
    if triggers == ["schedule"]:
        for path, name, _ in leaf_conditions(raw["when"], ("when",)):
            if name in _EVENT_ONLY:
                problems.append((path, f"'{name}' never holds in a sweep: add an event trigger to 'on'", True))
    return problems


def _check_time(raw: dict[str, Any], defaults: dict[str, Any]) -> list[Problem]:
    problems: list[Problem] = []
    tz = raw.get("timezone") or defaults.get("timezone") or "UTC"
    try:
        zone(tz)
    except CalendarError as exc:
        problems.append((("timezone",), f"{exc} (got {got(tz)})", False))
        return problems
    try:
        calendar_from_spec(raw.get("calendar") or defaults.get("calendar"), tz)
    except (CalendarError, ValueError) as exc:
        where = ("calendar",) if raw.get("calendar") else ()
        problems.append((where, str(exc), False))
    try:
        parse_schedule(raw.get("schedule"))
    except ValueError as exc:
        problems.append((("schedule",), f"{exc} (got {got(raw.get('schedule'))})", False))
    return problems


def _check_action(action: dict[str, Any], path: tuple[Any, ...]) -> list[Problem]:
    (name, value), = action.items()
    spec = actions.get(name)
    if spec is None or spec.validate is None:
        return []
    return [(tuple(x for x in (*path, name, sub) if x != ""), f"{msg} (got {got(g)})", False)
            for sub, msg, g in spec.validate(value)]


def _walk_condition(cond: dict[str, Any], path: tuple[Any, ...]) -> list[Problem]:
    problems: list[Problem] = []
    for here, name, value in leaf_conditions(cond, path):
        spec = conditions.get(name)
        if spec is not None and spec.validate is not None:
            problems += [((*here, sub) if sub else here, f"{msg} (got {got(g)})", False)
                         for sub, msg, g in spec.validate(value)]
    return problems
