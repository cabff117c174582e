"""`/flowkeeper snooze 5d` and `/flowkeeper ignore RULE`: answering Flowkeeper from the tracker.

A command is a line of a human's new or edited comment. It is parsed by `commands.parse`
(pure), checked against the `FLOWKEEPER_COMMANDS_FROM` policy, recorded (snooze or
exemption, and the audit log), and acknowledged with a reply that the executor posts — so
the reply is dry-run aware and never posted twice. A claim per comment id and command text
makes each command act once: editing a comment without changing its command does nothing,
changing the command carries out the new one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from dataclasses import dataclass, replace
from datetime import datetime

from integration.commands.parse import USAGE, Command, parse_command, snooze_length
from integration.settings_sweeps import CommandPolicy, SweepSettings
from integration.store.audit import AuditEntry, Outcome
from integration.store.claims import ClaimResult, Claims
from integration.store.snoozes import Snoozes
from rules.escaping import literal_for
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
    Tracker,
)

log = logging.getLogger("flowkeeper.commands")
COMMAND_RULE = "flowkeeper-command"  # the `rule` of reply actions and audit entries
REFUSAL_CLAIM_PREFIX = f"{COMMAND_RULE}/refused/"  # day-scoped claims; retention purges them after their day
_COMMENT_EVENTS = (EventKind.COMMENT_CREATED, EventKind.COMMENT_UPDATED)


def allowed(policy: CommandPolicy, author: Person, item: Item) -> bool:
    """Whether `author` may command Flowkeeper on `item` under the deployment's policy."""
    if policy.anyone:
        return True
    if policy.assignee and item.assignee is not None and item.assignee.id == author.id:
        return True
    if policy.reporter and item.reporter is not None and item.reporter.id == author.id:
        return True
    return bool(proven_identities(author, item) & policy.people)


def proven_identities(author: Person, item: Item) -> set[str]:
    """What the tracker vouches for: the account id, and the email only where the tracker
    sends a verified one (Linear). Never the display name — anyone can call themselves
    "alice@example.com" — and never an email on Jira, whose payloads carry none."""
    keys = {author.id}
    if item.tracker is Tracker.LINEAR and author.email:
        keys.add(author.email)
    return {k.casefold() for k in keys if k}


@dataclass(frozen=True)
class CommandResult:
    reply: Plan  # the acknowledgement, for the executor
    audit: AuditEntry
    claim: str  # the command's claim: finished once the reply is settled, so a retry replies but acts once


def command_claim(comment_id: str, command: Command) -> str:
    """One claim per comment and command text: an edit that leaves the command as it was is not a new one."""
    return f"{COMMAND_RULE}/{comment_id}/{command.version}"


class CommandHandler:
    def __init__(self, snoozes: Snoozes, claims: Claims, settings: SweepSettings,
                 rule_names: Callable[[], Collection[str]] | None = None) -> None:
        self.snoozes = snoozes
        self.claims = claims
        self.settings = settings
        self.rule_names = rule_names

    def handle(self, event: Event, item: Item, now: datetime) -> CommandResult | None:
        """Carry out the command in a human's new or edited comment; None when there is nothing to do."""
        comment = event.comment
        if event.kind not in _COMMENT_EVENTS or comment is None:
            return None
        edited = event.kind is EventKind.COMMENT_UPDATED
        author = (event.actor if edited else None) or comment.author or event.actor  # an edit: its editor
        if author is None or author.kind is not ActorKind.HUMAN:
            return None
        command = parse_command(comment.body)
        if command is None:
            return None
        claim = command_claim(comment.id, command)
        if self.claims.claim(item.tracker.value, item.id, claim, now) is not ClaimResult.CLAIMED:
            log.info("command.already_carried_out", extra={"item": item.key, "comment": comment.id})
            return None
        if command.problem is None and not allowed(self.settings.commands, author, item):
            command = replace(command, problem=f"only {self.settings.commands.describe()} may do that here")
        ok, text = self._carry_out(command, event, item, author, now) if command.problem is None else (
            False, f"{command.problem}. {USAGE}")
        result = self._result(command, ok, text, event, item, author, now, claim)
        if ok or self._first_refusal_today(author, item, now):
            return result
        quiet = replace(result.audit, reason=f"{result.audit.reason} (not answered: one refusal a day per person "
                                             "and item)")
        return replace(result, reply=Plan(item, ()), audit=quiet)

    def _first_refusal_today(self, author: Person, item: Item, now: datetime) -> bool:
        """Refusals are answered once a day per person and item: a comment loop cannot make Flowkeeper spam."""
        identity = f"{REFUSAL_CLAIM_PREFIX}{author.id}/{now:%Y-%m-%d}"[:255]
        if self.claims.claim(item.tracker.value, item.id, identity, now) is not ClaimResult.CLAIMED:
            return False
        self.claims.finish(item.tracker.value, item.id, identity, ok=True, now=now)
        return True

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
            return False, f"there is no rule by that name{f' (did you mean {hint!r}?)' if hint else ''}."
        if command.verb == "ignore":
            self.snoozes.exempt(tracker, item.id, item.key, rule, by, comment_id, now)
            return True, f"{item.key} is now exempt from rule '{rule}'."
        gone = self.snoozes.unexempt(tracker, item.id, rule)
        return True, (f"{item.key} is no longer exempt from rule '{rule}'." if gone
                      else f"{item.key} was not exempt from rule '{rule}'.")

    def _result(self, command: Command, ok: bool, text: str, event: Event, item: Item, author: Person,
                now: datetime, claim: str) -> CommandResult:
        comment_id = event.comment.id if event.comment else "?"
        # a refusal repeats nothing that was written; an acknowledgement shows the reason as text
        said = f"{text} Reason: {literal_for(item.tracker, command.reason)}" if command.reason and ok else text
        body = CommentBody((Mention(author), Text(f" {said}")))
        reason = f"{command.describe()}: {text}" + (f" Reason: {command.reason}" if command.reason else "")
        # a first command keeps its reply's step; an edited one is a new command with a reply of its own
        step = f"reply-{comment_id}" if event.kind is EventKind.COMMENT_CREATED else f"reply-{comment_id}-{command.version}"
        reply = Action(ActionKind.COMMENT, COMMAND_RULE, reason, episode=1, step=step, comment=body)
        rule = command.arg.split()[0] if command.verb in ("ignore", "unignore") and command.arg else None
        detail: dict[str, object] = {"by": author.id, "comment": comment_id}
        if command.reason:
            detail["why"] = command.reason
        if event.kind is EventKind.COMMENT_UPDATED:
            detail["edited"] = True
        audit = AuditEntry(
            at=now, tracker=item.tracker.value, item_key=item.key, rule=rule, action=f"command:{command.verb}",
            outcome=Outcome.DONE if ok else Outcome.SKIPPED, reason=reason, delivery_id=event.delivery_id,
            detail=detail,
        )
        return CommandResult(Plan(item, (reply,)), audit, claim)


def _closest(name: str, names: Collection[str]) -> str | None:
    import difflib

    found = difflib.get_close_matches(name, sorted(names), n=1, cutoff=0.6)
    return found[0] if found else None
