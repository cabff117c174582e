"""What compiling one rule needs: its calendar, shared cutoff slots, safe regexes."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

import re2

from rules.calendar import BusinessCalendar
from rules.durations import Duration

LABEL_PATTERN = r"^[^\s,]{1,255}$"


class SlotTable:
    """Cutoff instants shared by every rule of a set, computed once per `now`."""

    def __init__(self) -> None:
        self.specs: list[tuple[BusinessCalendar, Duration]] = []
        self._index: dict[tuple[BusinessCalendar, Duration], int] = {}
        self._last: tuple[datetime, list[datetime]] | None = None

    def slot(self, calendar: BusinessCalendar, duration: Duration) -> int:
        key = (calendar, duration)
        if key not in self._index:
            self._index[key] = len(self.specs)
            self.specs.append(key)
        return self._index[key]

    def cutoffs(self, now: datetime) -> list[datetime]:
        """Memoized on `now`: a sweep evaluates many items at the same instant."""
        last = self._last
        if last is not None and last[0] == now:
            return last[1]
        cut = [cal.cutoff(now, dur) for cal, dur in self.specs]
        self._last = (now, cut)
        return cut


WIP = "wip"  # in a rule's fields_read: the judge must read the in-progress counts per assignee
CLOSURE = "closure"  # in a rule's fields_read: the judge must read Flowkeeper's own last close of the item


@dataclass
class CompileCtx:
    rule: str
    calendar: BusinessCalendar
    slots: SlotTable
    fields: set[str] = field(default_factory=set)  # Item attributes the rule reads

    def slot(self, duration: Duration) -> int:
        return self.slots.slot(self.calendar, duration)


class SafeRegex:
    """A user's regex that cannot hang the engine.

    RE2 runs in linear time but its Python binding costs microseconds per call. Patterns
    that cannot backtrack badly — at most one repeat, over single characters — run on
    Python's `re` for inputs up to PY_MAX_INPUT characters (quadratic at worst: bounded);
    everything else, and longer inputs, goes to RE2. Both agree on what they accept: the
    pattern must compile in RE2 first (no backreferences, no lookarounds).
    """

    __slots__ = ("pattern", "search")

    def __init__(self, pattern: str) -> None:
        options = re2.Options()
        options.log_errors = False
        # raises re2.error for what RE2 refuses. Compiled from the pattern's UTF-8, as the binding
        # compiles a text pattern, and run on the text's UTF-8: the same search, less the binding's
        # turning byte offsets back into character offsets (two thirds of a short search's time;
        # callers only ask whether there is a match)
        slow = re2.compile(pattern.encode("utf-8"), options)
        fast = _python_twin(pattern)
        self.pattern = pattern
        bytes_search = slow.search

        def slow_search(text: str) -> object:
            return bytes_search(text.encode("utf-8"))
        if fast is None:
            self.search = slow_search
        else:
            fast_search, limit = fast.search, PY_MAX_INPUT

            def search(text: str) -> object:
                return fast_search(text) if len(text) <= limit else slow_search(text)
            self.search = search


PY_MAX_INPUT = 512
_SINGLE_ESCAPES = set("dDwWsS.\\^$|?*+()[]{}/-nrtfv ")  # each stands for one character
_CLASS_ESCAPES = set("dDwWsSbB")  # Unicode in Python's `re`, ASCII in RE2
_ANCHOR_ESCAPES = set("bBAZ")
_QUANTIFIER = re.compile(r"\{\d+(,\d*)?\}")  # `{,n}` is a repeat to Python but literal text to RE2: not ours


def _python_twin(pattern: str) -> re.Pattern[str] | None:
    """Python's `re` for patterns with at most one repeat, of one character, outside any
    group or alternation; None for anything else (RE2 then runs it).

    The pattern is read by a small conservative scanner: whatever it does not recognise
    makes it answer None, which only costs speed.
    """
    repeats, depth, classes, alternation, atom = 0, 0, False, False, False
    ignore_case = bool(re.match(r"\(\?[a-zA-Z]*i[a-zA-Z]*\)", pattern))
    multiline = bool(re.match(r"\(\?[a-zA-Z]*m[a-zA-Z]*\)", pattern))
    ends: list[int] = []  # each `$`: RE2's is the end of the text, Python's also before a final newline
    pos = 0
    while pos < len(pattern):
        ch = pattern[pos]
        if ch == "\\":
            nxt = pattern[pos + 1:pos + 2]
            if nxt in _CLASS_ESCAPES:
                classes = True
            if nxt not in _SINGLE_ESCAPES and nxt not in _ANCHOR_ESCAPES:
                return None  # backreferences, \p{…}, octal and hex escapes: leave them to RE2
            atom, pos = nxt not in _ANCHOR_ESCAPES, pos + 2
        elif ch == "[":
            end = _class_end(pattern, pos)
            if end is None:
                return None
            classes = classes or any(f"\\{c}" in pattern[pos:end] for c in _CLASS_ESCAPES)
            atom, pos = True, end + 1
        elif ch == "(":
            if pattern.startswith("(?", pos) and not re.match(r"\(\?(:|P<\w+>|[a-zA-Z]+\))", pattern[pos:]):
                return None  # lookarounds, conditionals, comments
            flags = re.match(r"\(\?[a-zA-Z]+\)", pattern[pos:])
            if flags:
                pos += flags.end()
                continue
            depth, atom, pos = depth + 1, False, pos + 1
        elif ch == ")":
            depth, atom, pos = depth - 1, False, pos + 1
        elif ch in "*+?{":
            quantifier = _QUANTIFIER.match(pattern, pos) if ch == "{" else None
            if ch == "{" and quantifier is None:
                return None
            if not atom or depth > 0:
                return None  # a repeat of a group, or inside one
            repeats, atom = repeats + 1, False
            pos = quantifier.end() if quantifier else pos + 1
            if pattern[pos:pos + 1] in ("?", "+"):
                pos += 1  # lazy or possessive: still one repeat
        elif ch == "|":
            alternation, atom, pos = True, False, pos + 1
        else:
            if ch == "$":
                ends.append(pos)
            atom, pos = ch not in "^$", pos + 1
    if repeats > 1 or (repeats and alternation) or depth != 0:
        return None
    if ignore_case and classes:
        return None  # RE2 folds case like Unicode but classes like \w are ASCII: keep RE2's meaning
    if not multiline:
        for at in reversed(ends):
            pattern = pattern[:at] + "\\Z" + pattern[at + 1:]
    try:
        return re.compile(pattern, 0 if ignore_case else re.ASCII)
    except re.error:
        return None


def _class_end(pattern: str, start: int) -> int | None:
    """The index of the `]` closing the class opened at `start`, or None."""
    pos = start + 1
    if pattern[pos:pos + 1] == "^":
        pos += 1
    if pattern[pos:pos + 1] == "]":
        pos += 1
    while pos < len(pattern):
        if pattern[pos] == "\\":
            pos += 2
            continue
        if pattern[pos] == "[":
            return None  # nested sets / POSIX classes: leave them to RE2
        if pattern[pos] == "]":
            return pos
        pos += 1
    return None


def compile_regex(pattern: str) -> SafeRegex:
    """Compile a user's regex; raises re2.error for patterns RE2 refuses."""
    return SafeRegex(pattern)


def regex_problem(pattern: object) -> str | None:
    """Why a pattern is refused (RE2 has no backreferences or lookarounds), or None."""
    if not isinstance(pattern, str):
        return "a regex must be text"
    try:
        compile_regex(pattern)
    except re2.error as exc:
        detail = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        return f"invalid regex ({detail}; backreferences and lookarounds are not supported)"
    return None
