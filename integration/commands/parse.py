"""Read a `/flowkeeper …` command from a comment (pure: no store, no clock).

The command is the first line that starts with `/flowkeeper`. Its arguments are the first
words the verb takes — a duration for `snooze` (`5d`, `2 weeks`, `5 business days`), a rule
name for `ignore` — and whatever follows is the person's reason, kept for the
acknowledgement and the audit log: `/flowkeeper snooze 5d — waiting on vendor`.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import timedelta

from rules.durations import DurationError, Unit, parse_duration

_LINE = re.compile(r"^\s*/flowkeeper\b[ \t]*(?P<verb>[A-Za-z-]*)[ \t]*(?P<rest>[^\n]*?)\s*$", re.MULTILINE)
_LEADING = " \t-–—:;,."  # what separates the arguments from the reason: `5d — waiting`, `5d: waiting`
USAGE = ("commands: `/flowkeeper snooze 5d` (no flags for 5 days), `/flowkeeper unsnooze`, "
         "`/flowkeeper ignore RULE` (this item is exempt from RULE), `/flowkeeper unignore RULE`; "
         "anything after them is kept as the reason")
VERBS = ("snooze", "unsnooze", "ignore", "unignore")
_DURATION_WORDS = 3  # the longest duration: `5 business days`


@dataclass(frozen=True)
class Command:
    verb: str
    arg: str = ""
    problem: str | None = None  # why the command cannot be carried out as written
    reason: str = ""  # the person's words after the arguments
    line: str = ""  # the command's line as written: what makes an edited comment a new command

    @property
    def version(self) -> str:
        """Names this command's text: an edit that changes it is carried out again, one that does not is not."""
        return hashlib.sha256(self.line.encode()).hexdigest()[:12]

    def describe(self) -> str:
        """`/flowkeeper snooze 5d`, as the audit log shows it."""
        return f"/flowkeeper {self.verb} {self.arg}".strip()


def parse_command(body: str) -> Command | None:
    """The first `/flowkeeper …` line of a comment, or None when there is none."""
    match = _LINE.search(body or "")
    if match is None:
        return None
    verb, rest, line = match.group("verb").lower(), match.group("rest"), match.group(0).strip()
    if verb not in VERBS:
        problem = "unknown command" if verb else "no command given"  # a refusal never repeats what was written
        return Command(verb or "help", rest.strip().strip("`"), problem, line=line)
    arg, reason = split_arguments(verb, rest)
    if verb == "snooze" and not arg:
        return Command(verb, arg, "snooze needs a duration, e.g. `/flowkeeper snooze 5d`", reason, line)
    if verb in ("ignore", "unignore") and not arg:
        return Command(verb, arg, f"{verb} needs a rule name, e.g. `/flowkeeper {verb} stalled-in-progress`",
                       reason, line)
    return Command(verb, arg, None, reason, line)


def split_arguments(verb: str, rest: str) -> tuple[str, str]:
    """(arguments, reason): the first words `verb` takes, and the rest without its separator."""
    words = rest.replace("`", " ").split()
    taken = _argument_words(verb, words)
    return " ".join(words[:taken]).rstrip(_LEADING), " ".join(words[taken:]).lstrip(_LEADING).strip()


def _argument_words(verb: str, words: list[str]) -> int:
    if verb in ("ignore", "unignore"):
        return 1 if words and words[0].strip(_LEADING) else 0
    if verb != "snooze" or not words:
        return 0
    for size in range(min(_DURATION_WORDS, len(words)), 0, -1):
        try:
            parse_duration(" ".join(words[:size]).rstrip(_LEADING))
        except DurationError:
            continue
        return size
    return 1  # not a duration: reported as such, with the word the person wrote


def snooze_length(arg: str, maximum: timedelta) -> timedelta | str:
    """A snooze in calendar time ('5d', '2 weeks', '48h'); a message when it cannot be one."""
    try:
        duration = parse_duration(arg)
    except DurationError:
        return "cannot read that as a duration (try 5d, 2w or 48h)"
    per_day = 7 / 5 if duration.unit is Unit.BUSINESS_DAYS else 1  # a working week is a calendar week
    length = duration.fixed or timedelta(days=duration.days * per_day)
    if length <= timedelta(0):
        return "a snooze must be longer than zero"
    if length > maximum:
        return f"a snooze can last at most {maximum.days} days"
    return length
