"""Comment templates: Jinja2 in a sandbox, rendered to a CommentBody with real mentions.

`{{ assignee.mention }}` renders as a Mention segment (each tracker client writes its own
mention syntax); `{{ last_activity | age }}` says how long ago, in the rule's units.
Templates are parsed and their variable names checked once, at load time.
"""

from __future__ import annotations

import re
from datetime import datetime
from functools import lru_cache
from typing import Any

import jinja2
from jinja2 import meta, nodes
from jinja2.sandbox import SandboxedEnvironment

from rules.calendar import BusinessCalendar
from rules.durations import Unit
from rules.errors import did_you_mean
from rules.model import CommentBody, Item, Mention, Person, Text

MAX_COMMENT = 10_000
_MARK = re.compile("\x1eM(\\d+)\x1e")
VARIABLES = ("item", "key", "title", "url", "status", "assignee", "reporter", "labels", "priority",
             "estimate", "team", "type", "project", "sprint", "created", "updated", "last_activity",
             "last_comment", "status_entered", "due", "rule", "now", "wip", "step")


class PersonView:
    """What a template sees of a person; `.mention` becomes a real mention."""

    def __init__(self, person: Person | None, mentions: list[Person]) -> None:
        self._person, self._mentions = person, mentions
        self.name = (person.name or person.email or person.id) if person else "nobody"
        self.email = person.email if person else None

    @property
    def mention(self) -> str:
        if self._person is None:
            return ""
        self._mentions.append(self._person)
        return f"\x1eM{len(self._mentions) - 1}\x1e"

    def __str__(self) -> str:
        return self.name


@jinja2.pass_context
def _age(ctx: Any, value: datetime | None, unit: str | None = None) -> str:
    """'6 business days', '3 days', '5 hours': time since `value` at the evaluation's now."""
    if value is None:
        return "an unknown time"
    now: datetime = ctx["now"]
    calendar: BusinessCalendar = ctx["_calendar"]
    wanted = Unit.BUSINESS_DAYS if (unit or ctx.get("_age_unit")) in ("business", Unit.BUSINESS_DAYS) else None
    if wanted is Unit.BUSINESS_DAYS:
        return _plural(int(calendar.elapsed(value, now, Unit.BUSINESS_DAYS)), "business day")
    hours = (now - value).total_seconds() / 3600
    if hours < 1:
        return _plural(int(hours * 60), "minute")
    return _plural(int(hours), "hour") if hours < 48 else _plural(int(hours // 24), "day")


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _env() -> SandboxedEnvironment:
    env = SandboxedEnvironment(autoescape=False, undefined=jinja2.ChainableUndefined,
                               trim_blocks=True, keep_trailing_newline=False)
    env.filters["age"] = _age
    return env


ENV = _env()


class TemplateProblem(ValueError):
    pass


class CommentTemplate:
    """A checked template; compiled to Python on first use (loading stays fast)."""

    def __init__(self, source: str, parsed: nodes.Template | None = None) -> None:
        self.source = source
        self._parsed = parsed
        self._template: jinja2.Template | None = None

    @property
    def template(self) -> jinja2.Template:
        if self._template is None:
            code = ENV.compile(self._parsed if self._parsed is not None else self.source)
            self._template = ENV.template_class.from_code(ENV, code, ENV.make_globals(None), None)
            self._parsed = None
        return self._template

    def render(self, item: Item, now: datetime, calendar: BusinessCalendar, rule: Any,
               wip: int | None = None, step: str = "0", age_unit: Unit | None = None) -> CommentBody:
        mentions: list[Person] = []
        try:
            text = self.template.render(_context(item, now, calendar, rule, mentions, wip, step, age_unit))
        except jinja2.TemplateError as exc:  # never let one item's data crash a sweep
            return CommentBody((Text(f"[rule '{rule.name}': the comment template failed: {exc}]"),))
        return _segments(text[:MAX_COMMENT], mentions)


@lru_cache(maxsize=4096)
def check_template(source: str) -> CommentTemplate:
    """Parse once at load time; raise TemplateProblem naming the first mistake.

    Checks syntax, variable names and filter names (Jinja resolves filters while it
    looks for variables); the template is immutable, so one
    parsed object serves every rule that uses the same text.
    """
    try:
        parsed = ENV.parse(source)
        names = meta.find_undeclared_variables(parsed)  # also resolves filter names
    except jinja2.TemplateSyntaxError as exc:
        missing = re.match(r"No (filter|test) named '([^']+)'", exc.message or "")
        if missing:
            table = list(ENV.filters if missing.group(1) == "filter" else ENV.tests)
            hint = did_you_mean(missing.group(2), table)
            raise TemplateProblem(f"unknown template {missing.group(1)} '{missing.group(2)}'{hint}") from exc
        raise TemplateProblem(f"template error on its line {exc.lineno}: {exc.message}") from exc
    unknown = sorted(names - set(VARIABLES))
    if unknown:
        raise TemplateProblem(f"unknown template variable '{unknown[0]}'{did_you_mean(unknown[0], VARIABLES)}")
    return CommentTemplate(source, parsed)


def _context(item: Item, now: datetime, calendar: BusinessCalendar, rule: Any, mentions: list[Person],
             wip: int | None, step: str, age_unit: Unit | None) -> dict[str, Any]:
    status = {"name": item.status.name, "category": item.status.category.value}
    return {
        "item": item, "key": item.key, "title": item.title, "url": item.url, "status": status,
        "assignee": PersonView(item.assignee, mentions), "reporter": PersonView(item.reporter, mentions),
        "labels": list(item.labels), "priority": item.priority.name if item.priority else None,
        "estimate": item.estimate, "team": item.team, "type": item.type, "project": item.project,
        "sprint": item.sprint, "created": item.created_at, "updated": item.updated_at,
        "last_activity": item.last_activity_at, "last_comment": item.last_comment_at,
        "status_entered": item.status_changed_at, "due": item.due_date,
        "rule": {"name": rule.name, "description": rule.description}, "now": now, "wip": wip,
        "step": step, "_calendar": calendar, "_age_unit": age_unit,
    }


def _segments(text: str, mentions: list[Person]) -> CommentBody:
    parts: list[Text | Mention] = []
    pos = 0
    for match in _MARK.finditer(text):
        if match.start() > pos:
            parts.append(Text(text[pos:match.start()]))
        parts.append(Mention(mentions[int(match.group(1))]))
        pos = match.end()
    if pos < len(text):
        parts.append(Text(text[pos:]))
    return CommentBody(tuple(parts))
