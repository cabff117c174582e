"""Comment templates: Jinja2 in a sandbox, rendered to a CommentBody with real mentions.

`{{ assignee.mention }}` renders as a Mention segment (each tracker client writes its own
mention syntax); `{{ last_activity | age }}` says how long ago, in the rule's units.
Templates are parsed and their variable names checked once, at load time.
"""

from __future__ import annotations

import functools
import re
import secrets
from datetime import datetime
from functools import lru_cache
from typing import Any

import jinja2
from jinja2 import meta, nodes
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment, SandboxedEnvironment

from rules.calendar import BusinessCalendar
from rules.durations import Unit
from rules.errors import did_you_mean
from rules.escaping import literal_for
from rules.model import CommentBody, Item, Mention, Person, Text
from rules.template_bounds import (
    BUDGET_VARIABLE,
    LOOP_FILTER,
    MAX_SIZE_ARGUMENT,
    bound_loops,
    check_formatting,
    format_problem,
    load_problem,
    loop_budget,
    percent_arguments,
)
from rules.template_bounds import huge as _huge

MAX_COMMENT = 10_000
_SEPARATOR = "\x1e"  # marks a mention inside the rendered text; never kept from tracker text
VARIABLES = ("item", "key", "title", "url", "status", "assignee", "reporter", "labels", "priority",
             "estimate", "team", "type", "project", "sprint", "created", "updated", "last_activity",
             "last_comment", "status_entered", "due", "rule", "now", "wip", "step", "actor", "people", "custom",
             "parent", "milestones", "subtasks", "sprint_state", "project_state")


class _MentionMark(str):
    """A mention's marker: passed through as is, where every other value is escaped."""


@jinja2.pass_context
def _literal(ctx: Any, value: Any) -> Any:
    """Every `{{ value }}` of tracker text, escaped for the tracker that will show it."""
    if value is None or isinstance(value, (_MentionMark, bool, int, float)):
        return value
    item = ctx.get("item")
    return literal_for(item.tracker, str(value)) if isinstance(item, Item) else value


class PersonView:
    """What a template sees of a person; `.mention` becomes a real mention."""

    def __init__(self, person: Person | None, mentions: list[Person], mark: str = "") -> None:
        self._person, self._mentions, self._mark = person, mentions, mark
        self.name = (person.name or person.email or person.id) if person else "nobody"
        self.email = person.email if person else None
        self.kind = person.kind.value if person else None

    @property
    def mention(self) -> str:
        if self._person is None:
            return ""
        if not self._person.id:  # known only by email on this tracker: named, not mentioned
            return f"@{self.name}"
        self._mentions.append(self._person)
        return _MentionMark(f"{_SEPARATOR}{self._mark}{len(self._mentions) - 1}{_SEPARATOR}")

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


class _BoundedSandbox(ImmutableSandboxedEnvironment):
    """Beyond the sandbox's attribute checks: no in-place changes (`x.append` in a loop over
    x would never end), and no `'x' * 10**9` or `title.ljust(10**9)`.

    Repetition, powers and any call with a huge number would allocate without bound before
    MAX_COMMENT could cut the text, so they are refused while rendering (a SecurityError).
    """

    intercepted_binops = frozenset({"*", "**", "%"})  # also keeps the compiler from folding them early

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "%" and isinstance(left, str):  # '%-*s' % (999999999, title)
            check_formatting(left, percent_arguments(right))
        if operator == "**" and (_huge(right, 64) or _huge(left, 10**100)):
            raise SecurityError("the template raises a number to a huge power")
        if operator == "*" and (_huge(left) or _huge(right)) and not all(_number(v) for v in (left, right)):
            raise SecurityError(f"the template repeats text more than {MAX_SIZE_ARGUMENT} times")
        if operator == "*" and _repeated_size(left, right) > MAX_COMMENT:
            raise SecurityError(f"the template builds text longer than {MAX_COMMENT} characters")
        return super().call_binop(context, operator, left, right)

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805
        if any(_huge(v) for v in (*args, *kwargs.values())):
            raise SecurityError(f"the template passes a number over {MAX_SIZE_ARGUMENT} to a function")
        if getattr(__obj, "__name__", None) in ("format", "format_map"):  # '{:>999999999}'.format(title)
            method = getattr(__obj, "__wrapped__", __obj)  # Jinja wraps str.format in its own formatter
            check_formatting(getattr(method, "__self__", None), ())
        return super().call(__context, __obj, *args, **kwargs)


def _repeated_size(left: Any, right: Any) -> int:
    """How long `left * right` would be when it repeats a text or a list (0 for arithmetic)."""
    for seq, times in ((left, right), (right, left)):
        if isinstance(seq, (str, list, tuple)) and isinstance(times, int):
            return len(seq) * times
    return 0


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _bounded_filter(f: Any) -> Any:
    """Filters take widths and counts too (`center(10**9)`): the same bound applies."""

    @functools.wraps(f)
    def bounded(*args: Any, **kwargs: Any) -> Any:
        if any(_huge(v) for v in (*args[1:], *kwargs.values())):
            raise SecurityError(f"the template passes a number over {MAX_SIZE_ARGUMENT} to a filter")
        if f.__name__ == "do_format" and args and isinstance(args[0], str) and format_problem(args[0]):
            raise SecurityError(format_problem(args[0]))
        return f(*args, **kwargs)

    return bounded


def _env() -> SandboxedEnvironment:
    env = _BoundedSandbox(autoescape=False, undefined=jinja2.ChainableUndefined, finalize=_literal,
                          trim_blocks=True, keep_trailing_newline=False)
    env.filters["age"] = _age
    env.filters = {name: _bounded_filter(f) for name, f in env.filters.items()}
    env.filters[LOOP_FILTER] = loop_budget
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
            parsed = self._parsed if self._parsed is not None else bound_loops(ENV.parse(self.source), ENV)
            code = ENV.compile(parsed)
            self._template = ENV.template_class.from_code(ENV, code, ENV.make_globals(None), None)
            self._parsed = None
        return self._template

    def render(self, item: Item, now: datetime, calendar: BusinessCalendar, rule: Any,
               wip: int | None = None, step: str = "0", age_unit: Unit | None = None,
               actor: Person | None = None) -> CommentBody:
        mentions: list[Person] = []
        mark = f"M{secrets.token_hex(8)}:"  # this rendering's own: tracker text cannot forge a mention
        try:
            context = _context(item, now, calendar, rule, mentions, wip, step, age_unit, mark)
            context["actor"] = PersonView(actor, mentions, mark)
            context["people"] = {handle: PersonView(entry.on(item.tracker), mentions, mark)
                                 for handle, entry in getattr(rule, "people", {}).items()}
            context[BUDGET_VARIABLE] = [0]
            text = self.template.render(context)
        except (jinja2.TemplateError, ArithmeticError, LookupError, TypeError, ValueError, MemoryError,
                RecursionError) as exc:  # never let one item's data (or `title + 1`) crash a sweep
            return CommentBody((Text(f"[rule '{rule.name}': the comment template failed: {exc}]"),))
        return _segments(text[:MAX_COMMENT], mentions, mark)


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
    private = next((n for n in _attribute_names(parsed) if n.startswith("_")), None)
    if private is not None:
        raise TemplateProblem(f"templates may not read private attributes such as '{private}'")
    unknown = sorted(names - set(VARIABLES))
    if unknown:
        raise TemplateProblem(f"unknown template variable '{unknown[0]}'{did_you_mean(unknown[0], VARIABLES)}")
    if (unbounded := load_problem(parsed)) is not None:
        raise TemplateProblem(unbounded)
    return CommentTemplate(source, bound_loops(parsed, ENV))


def people_read(template: CommentTemplate) -> set[str]:
    """The `people.<name>` a template reads, so a misspelt name is a load-time error."""
    parsed = template._parsed if template._parsed is not None else ENV.parse(template.source)
    return {node.attr for node in parsed.find_all(nodes.Getattr)
            if isinstance(node.node, nodes.Name) and node.node.name == "people"}


def _attribute_names(parsed: nodes.Template) -> list[str]:
    """`x.name`, `x['name']` and `x|attr('name')`: the attributes a template reads by a fixed name."""
    names = [node.attr for node in parsed.find_all(nodes.Getattr)]
    names += [n.arg.value for n in parsed.find_all(nodes.Getitem) if isinstance(n.arg, nodes.Const)
              and isinstance(n.arg.value, str)]
    for node in parsed.find_all(nodes.Filter):
        if node.name == "attr" and node.args and isinstance(node.args[0], nodes.Const):
            names.append(str(node.args[0].value))
    return names


def _context(item: Item, now: datetime, calendar: BusinessCalendar, rule: Any, mentions: list[Person],
             wip: int | None, step: str, age_unit: Unit | None, mark: str) -> dict[str, Any]:
    status = {"name": item.status.name, "category": item.status.category.value}
    return {
        "item": item, "key": item.key, "title": item.title, "url": item.url, "status": status,
        "assignee": PersonView(item.assignee, mentions, mark),
        "reporter": PersonView(item.reporter, mentions, mark),
        "labels": list(item.labels), "priority": item.priority.name if item.priority else None,
        "estimate": item.estimate, "team": item.team, "type": item.type, "project": item.project,
        "sprint": item.sprint, "created": item.created_at, "updated": item.updated_at,
        "last_activity": item.last_activity_at, "last_comment": item.last_comment_at,
        "status_entered": item.status_changed_at, "due": item.due_date, "parent": item.parent,
        "milestones": list(item.milestones), "subtasks": item.subtasks, "sprint_state": item.sprint_state,
        "project_state": item.project_state,
        "rule": {"name": rule.name, "description": rule.description}, "now": now, "wip": wip,
        "step": step, "custom": _custom(item), "_calendar": calendar, "_age_unit": age_unit,
    }


def _custom(item: Item) -> dict[str, Any]:
    """Mapped custom fields as a person reads them: a multi-select's values joined by commas."""
    return {k: ", ".join(map(str, v)) if isinstance(v, (tuple, list)) else v for k, v in item.custom.items()}


# a marker of any rendering, compiled once (a pattern per rendering cost most of a comment's
# rendering); `_segments` keeps this rendering's own
_MARKER = re.compile(re.escape(_SEPARATOR) + r"(M[0-9a-f]{16}:)(\d+)" + re.escape(_SEPARATOR))


def _segments(text: str, mentions: list[Person], mark: str) -> CommentBody:
    """Text and mentions; a mention only where this rendering's own marker is.

    Any other separator character (from a title, say) is dropped: it is no text a person
    wrote on purpose, and it must never turn into a mention or an error.
    """
    parts: list[Text | Mention] = []
    pos = start = 0
    while (match := _MARKER.search(text, start)) is not None:
        if match.group(1) != mark:  # another rendering's (from tracker text): its closing separator
            start = match.end() - 1  # may open one of ours
            continue
        index = int(match.group(2))
        start = match.end()
        if index >= len(mentions):
            continue
        if match.start() > pos:
            parts.append(Text(text[pos:match.start()].replace(_SEPARATOR, "")))
        parts.append(Mention(mentions[index]))
        pos = match.end()
    if pos < len(text):
        parts.append(Text(text[pos:].replace(_SEPARATOR, "")))
    return CommentBody(tuple(p for p in parts if not isinstance(p, Text) or p.text))
