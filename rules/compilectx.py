"""What compiling one rule needs: its calendar, shared cutoff slots, safe regexes."""

from __future__ import annotations

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


def compile_regex(pattern: str, ignore_case: bool = False) -> re2._Regexp:
    """RE2: linear time, so a user's regex cannot hang the engine. Raises re2.error."""
    options = re2.Options()
    options.log_errors = False
    options.case_sensitive = not ignore_case
    return re2.compile(pattern, options)


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
