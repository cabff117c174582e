"""Semantic checks the schema cannot express: regexes, templates, durations, zones, schedules."""

from __future__ import annotations

from typing import Any

from rules.calendar import CalendarError, calendar_from_spec, zone
from rules.compiler import parse_schedule
from rules.registry import actions, conditions
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
        for path, name in _condition_names(raw["when"], ("when",)):
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
    (name, value), = cond.items()
    here = (*path, name)
    if name in ("all", "any"):
        return [p for n, c in enumerate(value) for p in _walk_condition(c, (*here, n))]
    if name == "not":
        return _walk_condition(value, here)
    spec = conditions.get(name)
    if spec is None or spec.validate is None:
        return []
    return [((*here, sub) if sub else here, f"{msg} (got {got(g)})", False) for sub, msg, g in spec.validate(value)]


def _condition_names(cond: dict[str, Any], path: tuple[Any, ...]) -> list[tuple[tuple[Any, ...], str]]:
    (name, value), = cond.items()
    here = (*path, name)
    if name in ("all", "any"):
        return [x for n, c in enumerate(value) for x in _condition_names(c, (*here, n))]
    if name == "not":
        return _condition_names(value, here)
    return [(here, name)]
