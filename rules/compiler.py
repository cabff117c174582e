"""Turn one validated rule mapping into a Rule with compiled predicates and actions."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from rules.calendar import calendar_from_spec
from rules.clocks import HISTORY, SUBTASKS, clock_reader, describe_clock, reads_subtasks
from rules.codegen import fuse
from rules.compilectx import CompileCtx, SlotTable
from rules.durations import Duration, Unit, parse_duration
from rules.logic import compile_condition
from rules.model import NoAction, StatusCategory, Tracker
from rules.registry import Node, actions
from rules.ruleset import PREVIOUS_STEP, Rule, Step, SweepLimits
from rules.triggers import TRIGGERS, expand

CLOCK_ATTRS = {"last_activity": "last_activity_at", "last_comment": "last_comment_at",
               "last_status_change": "last_activity_at", "last_assignee_change": "last_activity_at",
               "status_entered": "status_changed_at", "updated": "updated_at", "created": "created_at"}


def _clock(ref: Any) -> Any:
    reader = clock_reader(ref)
    return lambda item, frame: reader(item, frame.ctx).at


def compile_actions(raw: list[dict[str, Any]]) -> tuple[Any, ...]:
    out = []
    for entry in raw:
        (name, value), = entry.items()
        spec = actions.get(name)
        assert spec is not None, name
        out.append(spec.compile(value))
    return tuple(out)


def parse_schedule(value: str | None) -> str | timedelta | None:
    """A cron expression stays text; 'every 30 minutes' becomes an interval."""
    if value is None:
        return None
    text = value.strip()
    if text.lower().startswith("every "):
        interval = parse_duration(text[6:])
        fixed = interval.fixed
        if fixed is None or interval.unit not in (Unit.MINUTES, Unit.HOURS):
            raise ValueError("an interval schedule is in minutes or hours, e.g. 'every 30 minutes'")
        return fixed
    from croniter import croniter

    if not croniter.is_valid(text):
        raise ValueError("not a cron expression (e.g. '*/30 * * * *') or an interval ('every 30 minutes')")
    return text


def compile_rule(raw: dict[str, Any], defaults: dict[str, Any], source: str, line: int,
                 slots: SlotTable, people: Mapping[str, Any] | None = None) -> Rule:
    """Compile once; the result is evaluated many times. `raw` has passed every check."""
    timezone = raw.get("timezone") or defaults.get("timezone") or "UTC"
    calendar = calendar_from_spec(raw.get("calendar") or defaults.get("calendar"), timezone)
    cctx = CompileCtx(raw["name"], calendar, slots)
    node = compile_condition(raw["when"], "when", cctx)
    when = Node(fuse(node), node.explain, node.pushdown, node.code)
    steps = [Step("0", None, None, compile_actions(raw["then"]))]
    ladder = list(raw.get("escalate", ()))
    if not any(rung.get("from") == PREVIOUS_STEP for rung in ladder):  # a chained ladder keeps its order
        ladder.sort(key=lambda s: parse_duration(s["after"]).days)
    for n, rung in enumerate(ladder, start=1):
        after = parse_duration(rung["after"])
        steps.append(Step(str(n), after, cctx.slot(after), compile_actions(rung["then"]),
                          rung.get("from") == PREVIOUS_STEP))
    clock_ref = raw.get("clock") or defaults.get("clock") or "last_activity"
    clock_name = describe_clock(clock_ref)
    cctx.fields.add(CLOCK_ATTRS.get(clock_name, HISTORY))
    if reads_subtasks(clock_name):
        cctx.fields.add(SUBTASKS)
    triggers = raw["on"] if isinstance(raw["on"], list) else [raw["on"]]
    flags = tuple(dict.fromkeys(a.flag_label for s in steps for a in s.actions if a.flag_label))
    added = {lab for s in steps for a in s.actions for lab in getattr(a, "labels", ())
             if getattr(a, "kind", None) is not None and a.kind.value == "add_labels"}
    exempt = raw.get("exempt", {})
    durations = [*_durations(raw["when"]), *(s.after for s in steps if s.after)]
    return Rule(
        name=raw["name"], description=raw["description"].strip(), source=source, line=line,
        triggers=frozenset(triggers), schedule=parse_schedule(raw.get("schedule")), timezone=timezone,
        trackers=frozenset(Tracker(t) for t in raw.get("trackers") or defaults.get("trackers") or ("jira", "linear")),
        teams=frozenset(raw.get("teams") or defaults.get("teams") or ()), sweep_filter=raw.get("sweep_filter"),
        enabled=raw.get("enabled", True), dry_run=raw.get("dry_run", defaults.get("dry_run", False)),
        labels_written=frozenset(flags) | frozenset(added), flag_labels=flags, when=when, steps=tuple(steps),
        repeat_after=parse_duration(raw["repeat_after"]) if "repeat_after" in raw else None,
        clock=_clock(clock_ref), clock_name=clock_name, clock_reader=clock_reader(clock_ref), calendar=calendar,
        exempt_labels=frozenset(x.casefold() for x in exempt.get("labels", ())),
        exempt_assignees=frozenset(x.casefold() for x in exempt.get("assignees", ())),
        fields_read=frozenset(cctx.fields), summary=describe(raw["when"]),
        age_unit=Unit.BUSINESS_DAYS if any(d.unit is Unit.BUSINESS_DAYS for d in durations) else None,
        slots=slots, raw_when=raw["when"], sweep_limits=sweep_limits(raw.get("sweep", {})),
        trigger_set=expand(triggers),
        flag_set=frozenset(label.casefold() for label in flags),
        **_verdicts(raw["name"], raw["when"], triggers), people=dict(people or {}),
    )


def sweep_limits(spec: dict[str, Any]) -> SweepLimits:
    """The rule's `sweep:` block; a share is a fraction (0.1) or a percentage ('10%')."""
    blast = spec.get("blast_radius", {})
    share = blast.get("share")
    if isinstance(share, str):
        share = float(share.strip().rstrip("%")) / 100
    return SweepLimits(spec.get("write_budget"), blast.get("items"), share, spec.get("order"))


def category_gate(cond: dict[str, Any]) -> frozenset[StatusCategory] | None:
    """The status categories a condition requires at its top level, or None if any may match."""
    (name, arg), = cond.items()
    conjuncts = arg if name == "all" else [cond]
    gate: frozenset[StatusCategory] | None = None
    for part in conjuncts:
        (key, value), = part.items()
        if key != "status.category":
            continue
        ops = value if isinstance(value, dict) else {"in": value if isinstance(value, list) else [value]}
        wanted = ops.get("in", ops.get("equals"))
        if wanted is None:
            continue
        cats = frozenset(StatusCategory(c) for c in (wanted if isinstance(wanted, list) else [wanted]))
        gate = cats if gate is None else gate & cats
    return gate


def _verdicts(name: str, when: dict[str, Any], triggers: list[str]) -> dict[str, Any]:
    gate = category_gate(when)
    on = ", ".join(sorted(triggers))
    expected = ", ".join(sorted(c.value for c in gate)) if gate else ""
    return {
        "category_gate": gate,
        "gate_verdicts": {c: NoAction(name, f"condition does not hold: status.category is {c.value}, "
                                            f"expected {'equals' if len(gate) == 1 else 'in'} {expected}")
                          for c in StatusCategory if c not in gate} if gate is not None else {},
        "trigger_verdicts": {k: NoAction(name, f"not triggered by '{k}' (on: {on})") for k in TRIGGERS},
    }


def _durations(cond: Any) -> list[Duration]:
    """Every duration a condition mentions: decides the unit `age` speaks in."""
    found: list[Duration] = []
    if isinstance(cond, dict):
        for key, value in cond.items():
            if key in ("older_than", "at_least", "newer_than"):
                found.append(parse_duration(value))
            else:
                found += _durations(value)
    elif isinstance(cond, list):
        for value in cond:
            found += _durations(value)
    return found


def describe(cond: Any) -> str:
    """A one-line reading of a condition for action reasons: 'a; b; not c'."""
    (name, arg), = cond.items()
    if name in ("all", "any"):
        joined = ("; " if name == "all" else " or ").join(describe(c) for c in arg)
        return joined if name == "all" else f"({joined})"
    if name == "not":
        return f"not {describe(arg)}"
    if isinstance(arg, dict):
        from rules.conditions import describe_op

        return f"{name} " + ", ".join(describe_op(op, v) for op, v in arg.items())
    return f"{name} {_short(arg)}"


def _short(value: Any) -> str:
    return "[" + ", ".join(map(str, value)) + "]" if isinstance(value, list) else str(value)
