"""What report sections share: the scope, the rule catalog, target dates, the questions asked, a cache."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, TypeVar

from sqlalchemy import Connection

from integration.reports import flow, wip
from integration.reports.montecarlo import SEED, TRIALS
from integration.reports.scope import RuleCatalog, Scope, ScopeError, parse_instant
from integration.store.completions import Completion

MAX_ITEMS = 100_000
T = TypeVar("T")


@dataclass(frozen=True)
class Ask:
    """The questions a reader puts to the report: forecasts, and how the flow is drawn.

    items: "when will these N items be done" (None: the items in progress now);
    by: "how many items by this date" (None: two weeks after the period);
    cfd_by: "category" or "status"; waiting: status names counted as waiting, per team
    ("*" for every team), on top of the defaults.
    """

    items: int | None = None
    by: date | None = None
    seed: int = SEED
    trials: int = TRIALS
    cfd_by: str = "category"
    waiting: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


def make_ask(items: int | None, by: str | None, seed: int, cfd_by: str = "category",
             waiting: Mapping[str, tuple[str, ...]] | None = None, *, earliest: datetime | None = None) -> Ask:
    """The questions as a person typed them; a bad value is a ScopeError that names it.

    `earliest`: the period's end; forecasts start on its day, so a date before it has no answer.
    """
    if items is not None and not 0 <= items <= MAX_ITEMS:
        raise ScopeError(f"the number of items to forecast must be between 0 and {MAX_ITEMS} (got {items})")
    day = parse_instant(by).date() if by else None
    if day is not None and earliest is not None and day < earliest.date():
        raise ScopeError(f"the forecast date {day} is before the end of the period ({earliest:%Y-%m-%d})")
    return Ask(items=items, by=day, seed=seed, cfd_by=cfd_by, waiting=dict(waiting or {}))


@dataclass
class Context:
    """What sections share: the scope, what is known about rules, and figures computed once.

    Sections may run side by side on several connections (see `report.build_report`): a shared
    figure is computed by the first section that asks for it, and a section asking for it meanwhile
    waits for that one instead of computing it again.
    """

    scope: Scope
    catalog: RuleCatalog = field(default_factory=RuleCatalog)
    targets: Mapping[tuple[str, str], date] = field(default_factory=dict)
    ask: Ask = field(default_factory=Ask)
    cache: dict[str, Any] = field(default_factory=dict)
    sections: tuple[str, ...] = ()  # the sections this report runs: one may compute what another needs
    _guard: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)
    _computing: dict[str, threading.Lock] = field(default_factory=dict, repr=False, compare=False)

    def once(self, key: str, compute: Callable[[], T]) -> T:
        """The cached figure `key`, computed by `compute` the first time it is asked for."""
        if key in self.cache:
            return self.cache[key]  # type: ignore[no-any-return]
        with self._guard:
            lock = self._computing.setdefault(key, threading.Lock())
        with lock:
            if key not in self.cache:
                self.cache[key] = compute()
        return self.cache[key]  # type: ignore[no-any-return]

    def completed(self, conn: Connection) -> list[Completion]:
        """Items completed in the period: flow, aging, flow efficiency, forecasts and the roadmap read them."""
        return self.once("completed", lambda: flow.completed_items(conn, self.scope))

    def flow(self, conn: Connection) -> flow.FlowFigures:
        return self.once("flow", lambda: flow.flow_figures(conn, self.scope, self.completed(conn)))

    def bands(self, conn: Connection) -> wip.Levels:
        """Items in each to-do, in-progress and done status at the end of each day (done: finished in the
        period); the WIP and cumulative flow sections share it."""
        return self.once("bands", lambda: wip.levels_daily(conn, self.scope, wip.FLOW_BANDS, fresh=("done",)))
