"""What compiling one rule needs: its calendar, shared cutoff slots, safe regexes."""

from __future__ import annotations

import re
import re._parser as _re_parser
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
        slow = re2.compile(pattern, options)  # raises re2.error for what RE2 refuses
        fast = _python_twin(pattern)
        self.pattern = pattern
        if fast is None:
            self.search = slow.search
        else:
            fast_search, slow_search, limit = fast.search, slow.search, PY_MAX_INPUT

            def search(text: str) -> object:
                return fast_search(text) if len(text) <= limit else slow_search(text)
            self.search = search


PY_MAX_INPUT = 512
_SINGLE = {"LITERAL", "NOT_LITERAL", "IN", "ANY", "CATEGORY"}
_REPEATS = {"MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"}


def _python_twin(pattern: str) -> re.Pattern[str] | None:
    """Python's `re` for patterns with at most one single-character repeat, else None."""
    try:
        parsed = _re_parser.parse(pattern)
    except re.error:
        return None
    repeats, categories = 0, False
    stack = [(node, False) for node in parsed]  # (node, inside a group or alternation?)
    while stack:
        (op, arg), grouped = stack.pop()
        name = str(op)
        if name in _REPEATS:
            body = list(arg[2])
            if grouped or len(body) != 1 or str(body[0][0]) not in _SINGLE:
                return None
            repeats += 1
            stack += [(n, True) for n in body]
        elif name == "SUBPATTERN":
            stack += [(n, True) for n in arg[3]]
        elif name == "BRANCH":
            stack += [(n, True) for seq in arg[1] for n in seq]
        elif name in ("ASSERT", "ASSERT_NOT", "GROUPREF", "GROUPREF_EXISTS", "ATOMIC_GROUP"):
            return None
        elif name == "IN":
            categories = categories or any(str(o) == "CATEGORY" for o, _ in arg)
        elif name == "CATEGORY":
            categories = True
    if repeats > 1:
        return None
    ignore_case = bool(parsed.state.flags & re.IGNORECASE)
    if ignore_case and categories:
        return None  # RE2 folds case like Unicode but classes like \w are ASCII: keep RE2's meaning
    return re.compile(pattern, 0 if ignore_case else re.ASCII)


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
