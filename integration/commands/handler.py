"""`/flowkeeper snooze 5d` and `/flowkeeper ignore RULE`: answering Flowkeeper from the tracker.

A command is a line of a human's comment. It is parsed here (pure), checked against the
`FLOWKEEPER_COMMANDS_FROM` policy, recorded (snooze or exemption, and the audit log), and
acknowledged with a reply that the executor posts — so the reply is dry-run aware and
never posted twice for one comment.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from integration.settings_sweeps import CommandPolicy, SweepSettings
from integration.store.audit import AuditEntry, Outcome
from integration.store.snoozes import Snoozes
from rules.durations import DurationError, Unit, parse_duration
from rules.model import (
    Action,
    ActionKind,
    ActorKind,
    CommentBody,
    Event,
    EventKind,
    Item,
    Mention,
    Person,
    Plan,
    Text,
)

COMMAND_RULE = "flowkeeper-command"  # the `rule` of reply actions and audit entries
_LINE = re.compile(r"^\s*/flowkeeper\b[ \t]*(?P<verb>[A-Za-z-]*)[ \t]*(?P<arg>[^\n]*?)\s*$", re.MULTILINE)
USAGE = ("commands: `/flowkeeper snooze 5d` (no flags for 5 days), `/flowkeeper unsnooze`, "
         "`/flowkeeper ignore RULE` (this item is exempt from RULE), `/flowkeeper unignore RULE`")
VERBS = ("snooze", "unsnooze", "ignore", "unignore")


@dataclass(frozen=True)
class Command:
    verb: str
    arg: str = ""
    problem: str | None = None  # why the command cannot be carried out as written


def parse_command(body: str) -> Command | None:
    """The first `/flowkeeper …` line of a comment, or None when there is none."""
    match = _LINE.search(body or "")
    if match is None:
        return None
    verb, arg = match.group("verb").lower(), match.group("arg").strip().strip("`")
    if verb not in VERBS:
        return Command(verb or "help", arg, f"unknown command {verb!r}" if verb else "no command given")
    if verb == "snooze" and not arg:
        return Command(verb, arg, "snooze needs a duration, e.g. `/flowkeeper snooze 5d`")
    if verb in ("ignore", "unignore") and not arg:
        return Command(verb, arg, f"{verb} needs a rule name, e.g. `/flowkeeper {verb} stalled-in-progress`")
    return Command(verb, arg)


def snooze_length(arg: str, maximum: timedelta) -> timedelta | str:
    """A snooze in calendar time ('5d', '2 weeks', '48h'); a message when it cannot be one."""
    try:
        duration = parse_duration(arg)
    except DurationError:
        return f"cannot read {arg!r} as a duration (try 5d, 2w or 48h)"
    per_day = 7 / 5 if duration.unit is Unit.BUSINESS_DAYS else 1  # a working week is a calendar week
    length = duration.fixed or timedelta(days=duration.days * per_day)
    if length <= timedelta(0):
        return "a snooze must be longer than zero"
    if length > maximum:
        return f"a snooze can last at most {maximum.days} days"
    return length


def allowed(policy: CommandPolicy, author: Person, item: Item) -> bool:
    """Whether `author` may command Flowkeeper on `item` under the deployment's policy."""
    if policy.anyone:
        return True
    if policy.assignee and item.assignee is not None and item.assignee.id == author.id:
        return True
    if policy.reporter and item.reporter is not None and item.reporter.id == author.id:
        return True
    keys = {k.casefold() for k in (author.id, author.email, author.name) if k}
    return bool(keys & policy.people)


@dataclass(frozen=True)
class CommandResult:
    reply: Plan  # the acknowledgement, for the executor
    audit: AuditEntry


class CommandHandler:
    def __init__(self, snoozes: Snoozes, settings: SweepSettings,
                 rule_names: Callable[[], Collection[str]] | None = None) -> None:
        self.snoozes = snoozes
        self.settings = settings
        self.rule_names = rule_names

    def handle(self, event: Event, item: Item, now: datetime) -> CommandResult | None:
        """Carry out the command in a human's new comment; None when there is nothing to do."""
        comment = event.comment
        if event.kind is not EventKind.COMMENT_CREATED or comment is None:
            return None
        author = comment.author or event.actor
        if author is None or author.kind is not ActorKind.HUMAN:
            return None
        command = parse_command(comment.body)
        if command is None:
            return None
        if command.problem is None and not allowed(self.settings.commands, author, item):
            command = Command(command.verb, command.arg,
                              f"only {self.settings.commands.describe()} may do that here")
        ok, text = self._carry_out(command, event, item, author, now) if command.problem is None else (
            False, f"{command.problem}. {USAGE}")
        return self._result(command, ok, text, event, item, author, now)

    def _carry_out(self, command: Command, event: Event, item: Item, author: Person,
                   now: datetime) -> tuple[bool, str]:
        tracker, by = item.tracker.value, author.email or author.name or author.id
        comment_id = event.comment.id if event.comment else None
        if command.verb == "snooze":
            length = snooze_length(command.arg, self.settings.snooze_max)
            if isinstance(length, str):
                return False, f"{length}. {USAGE}"
            until = now + length
            self.snoozes.snooze(tracker, item.id, item.key, until, by, comment_id, now)
            return True, f"snoozed: Flowkeeper will not flag {item.key} until {until:%Y-%m-%d %H:%M} UTC."
        if command.verb == "unsnooze":
            gone = self.snoozes.unsnooze(tracker, item.id)
            return True, f"{item.key} is no longer snoozed." if gone else f"{item.key} was not snoozed."
        return self._exemption(command, tracker, item, by, comment_id, now)

    def _exemption(self, command: Command, tracker: str, item: Item, by: str, comment_id: str | None,
                   now: datetime) -> tuple[bool, str]:
        rule = command.arg.split()[0]
        names = set(self.rule_names()) if self.rule_names is not None else None
        if names is not None and rule not in names:
            hint = _closest(rule, names)
            return False, f"there is no rule named {rule!r}{f' (did you mean {hint!r}?)' if hint else ''}."
        if command.verb == "ignore":
            self.snoozes.exempt(tracker, item.id, item.key, rule, by, comment_id, now)
            return True, f"{item.key} is now exempt from rule '{rule}'."
        gone = self.snoozes.unexempt(tracker, item.id, rule)
        return True, (f"{item.key} is no longer exempt from rule '{rule}'." if gone
                      else f"{item.key} was not exempt from rule '{rule}'.")

    def _result(self, command: Command, ok: bool, text: str, event: Event, item: Item, author: Person,
                now: datetime) -> CommandResult:
        comment_id = event.comment.id if event.comment else "?"
        body = CommentBody((Mention(author), Text(f" {text}")))
        reason = f"/flowkeeper {command.verb} {command.arg}".strip() + f": {text}"
        reply = Action(ActionKind.COMMENT, COMMAND_RULE, reason, episode=1, step=f"reply-{comment_id}", comment=body)
        rule = command.arg.split()[0] if command.verb in ("ignore", "unignore") and command.arg else None
        audit = AuditEntry(
            at=now, tracker=item.tracker.value, item_key=item.key, rule=rule, action=f"command:{command.verb}",
            outcome=Outcome.DONE if ok else Outcome.SKIPPED, reason=reason, delivery_id=event.delivery_id,
            detail={"by": author.id, "comment": comment_id},
        )
        return CommandResult(Plan(item, (reply,)), audit)


def _closest(name: str, names: Collection[str]) -> str | None:
    import difflib

    found = difflib.get_close_matches(name, sorted(names), n=1, cutoff=0.6)
    return found[0] if found else None
