"""The rule author's reference of every condition, generated from the registry like the schema.

One row per registered condition type (Item fields, clocks, mirror and event conditions,
the `custom.<name>` family): its name, its type, where its value comes from on each
tracker, and the example its registration carries. A type registered tomorrow gets its
row by itself; where its value comes from is written once, in SOURCES below, and a test
fails while a field has none. Published as docs/rule-reference.md; `flowkeeper rules
reference --write` rewrites it.
"""

from __future__ import annotations

from pathlib import Path

import rules.schema  # noqa: F401  (registers every condition type)
from rules.conditions import FIELD_BY_NAME
from rules.fieldkinds import KIND_SCHEMAS
from rules.registry import TypeSpec, conditions
from rules.schema import calendar_schema
from rules.triggers import SKIPPED_KINDS, TRIGGERS

REFERENCE_PATH = Path(__file__).resolve().parents[1] / "docs" / "rule-reference.md"
MIRROR = "the mirror's history: the last change a person made"

# condition → (Jira, Linear): where the value comes from. Item fields must have an entry.
SOURCES: dict[str, tuple[str, str]] = {
    "title": ("`summary`", "`title`"),
    "description": ("`description` (ADF read as text)", "`description`"),
    "key": ("issue key (`ENG-12`)", "`identifier` (`ENG-12`)"),
    "type": ("`issuetype.name`", "— (Linear has no issue types)"),
    "team": ("`project.key`", "`team.key`"),
    "project": ("the epic's name, where known", "`project.name`"),
    "parent": ("`parent.key`", "the parent's `identifier`"),
    "sprint": ("the sprint field", "the cycle"),
    "sprint.state": ("the sprint's `state`: `active`, `future` → `upcoming`, `closed` → `completed`",
                     "the cycle: `completedAt` or `isPast` → `completed`, `isActive` → `active`, "
                     "`isFuture` → `upcoming`"),
    "project.state": ("— (Jira projects have no state)",
                      "`project.status.type`: backlog, planned, started, paused, completed, canceled"),
    "milestones": ("`fixVersions` (names)", "`projectMilestone.name`"),
    "subtasks": ("`subtasks` (how many)", "`children` (how many, up to 25)"),
    "status.name": ("`status.name`", "`state.name`"),
    "status.category": ("`status.statusCategory` (a done status with a cancel resolution is `canceled`)",
                        "`state.type`"),
    "priority": ("`priority.name`", "`priorityLabel`"),
    "priority.rank": ("the priority's place in the site's priority list (1 = most urgent)",
                      "`priority` (1 urgent … 4 low)"),
    "estimate": ("the story points field (`JIRA_STORY_POINTS_FIELD`, else found by name)", "`estimate`"),
    "labels": ("`labels`", "`labels` by name"),
    "assignee": ("`assignee` (account id, display name)", "`assignee` (id, name, email)"),
    "reporter": ("`reporter`", "`creator`"),
    "created": ("`created`", "`createdAt`"),
    "updated": ("`updated` (bots and Flowkeeper bump it too)", "`updatedAt` (bots and Flowkeeper bump it too)"),
    "last_activity": (MIRROR, MIRROR),
    "last_comment": ("the mirror's history: the last comment a person wrote", "the same"),
    "status_entered": ("the last status change (changelog)", "the last status change (history)"),
    "last_status_change": ("the mirror's history: the last status change a person made", "the same"),
    "last_assignee_change": ("the mirror's history: the last assignee change a person made", "the same"),
    "due": ("`duedate`", "`dueDate`"),
    "custom.<name>": ("the field `JIRA_FIELD_MAP` maps to `<name>` (an option by its value, a user by account id)",
                      "— (Linear has no custom fields)"),
}
_GROUP_SOURCES = {"clock": "the mirror's history", "mirror": "Flowkeeper's item mirror",
                  "event": "the webhook event"}
_GROUPS = [("field", "Item fields"), ("clock", "Clocks"), ("mirror", "From the mirror"),
           ("event", "About the event")]


def _type(spec: TypeSpec) -> str:
    field = FIELD_BY_NAME.get(spec.name)
    if field is not None:
        return field.kind.value
    for kind, schema in KIND_SCHEMAS.items():
        if spec.schema is schema or spec.schema == schema:
            return kind.value
    if spec.schema.get("type") == "boolean":
        return "true / false"
    return {"clock": "time", "event": "event"}.get(spec.group, "mapping")


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ").strip()


def _row(spec: TypeSpec) -> str:
    jira, linear = SOURCES.get(spec.name, ("", ""))
    if spec.group != "field" and not jira:
        jira = linear = _GROUP_SOURCES.get(spec.group, "")
    example = spec.example.strip().replace("\n", " ")
    summary = spec.doc.split("\n\n")[0].split(". ")[0].rstrip(".")
    return (f"| `{spec.name}` | {_type(spec)} | {_cell(jira)} | {_cell(linear)} | `{_cell(example)}` |"
            + (f" {_cell(summary)} |" if spec.group != "field" else " |"))


def render_reference() -> str:
    specs = conditions.specs() + [template for _, template in conditions.families()]
    lines = ["<!-- generated by `flowkeeper rules reference --write` from the condition registry: "
             "do not edit -->", "", "# Rule reference", "",
             "Every condition a rule's `when:` can use, generated from the code. Types: "
             "text, category, number, set (labels), names (milestones), person, time, custom (see the operators below).", ""]
    for group, title in _GROUPS:
        rows = [_row(s) for s in specs if s.group == group]
        lines += [f"## {title}", "", "| condition | type | Jira | Linear | example | |",
                  "|---|---|---|---|---|---|", *rows, ""]
    lines += ["## Operators by type", ""]
    kinds: dict[str, str] = {}
    for spec in specs:
        field = FIELD_BY_NAME.get(spec.name)
        if field is not None or spec.name == "custom.<name>":
            kinds.setdefault(_type(spec), spec.doc.split("\n\n")[0])
    lines += [f"- **{kind}**: {_cell(doc)}" for kind, doc in kinds.items()]
    lines += ["", *_calendar_lines()]
    lines += ["## Triggers (`on:`)", "",
              ", ".join(f"`{t}`" for t in TRIGGERS) + ". Events that judge no rule: "
              + "; ".join(f"`{k.value}` ({why})" for k, why in SKIPPED_KINDS.items()) + ".", ""]
    return "\n".join(lines + _ladder())


def _ladder() -> list[str]:
    """The escalation rung's keys, from the schema's own descriptions."""
    from rules.schema import STEP_FROM

    values = " or ".join(f"`{v}`" for v in STEP_FROM["enum"])
    return ["## Escalation steps (`escalate:`)", "",
            "Each rung has `after` (a duration, strictly more than it) and `then` (actions), and may have "
            f"`from` ({values}): {_cell(str(STEP_FROM['description']))}.", "",
            "```yaml", "escalate:", "  - after: 7 days", "    from: previous_step  # 7 days after the rule's `then` was done",
            "    then:", "      - comment: \"{{ key }} has been stale for a week: closing soon.\"", "```", ""]


def _calendar_lines() -> list[str]:
    """The `calendar:` syntax, from the schema the loader validates with."""
    schema = calendar_schema()
    lines = ["## Business calendar (`calendar:`)", "", schema["description"], "",
             "| key | value | meaning |", "|---|---|---|"]
    for key, spec in schema["properties"].items():
        if spec.get("type") == "array":
            items = spec["items"]
            value = f"list of {', '.join(items['enum'])}" if "enum" in items else "list of dates"
        else:
            value = "text"
        lines.append(f"| `{key}` | {value} | {_cell(spec['description'])} |")
    example = schema["examples"][0]
    lines += ["", "```yaml", "calendar:", *(f"  {k}: {_yaml(v)}" for k, v in example.items()), "```", ""]
    return lines


def _yaml(value: object) -> str:
    return f"[{', '.join(map(str, value))}]" if isinstance(value, list) else str(value)


def write_reference(path: Path = REFERENCE_PATH) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_reference(), encoding="utf-8")
