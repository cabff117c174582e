"""Cumulative flow diagram: how many items sit in each stage at the end of each day.

Counted from the status history, not from arrivals: an item that moves back (Done → In
Progress, In Progress → To Do) leaves the later band the day it moves, so the bands
always add up to the items really in the system. The done band starts at zero: it holds
the items that finished during the period and are still done. Canceled items leave the
diagram the day they are canceled.
"""

from __future__ import annotations

from sqlalchemy import Connection

from integration.reports.context import Context
from integration.reports.dataset import Chart, Dataset
from integration.reports.wip import FLOW_BANDS as BANDS

NOTE = ("Items in each stage at the end of each day, from the status history; an item that moves back "
        "leaves the later band. Done counts items finished in the period; canceled items are left out.")


def cfd_section(conn: Connection, ctx: Context) -> list[Dataset]:
    days = ctx.bands(conn)
    by_status = ctx.ask.cfd_by == "status"
    seen = {key for _, counts in days for key in counts}
    keys = (sorted(seen, key=lambda k: (BANDS.index(k[0]) if k[0] in BANDS else len(BANDS), k[1])) if by_status
            else [(band, "") for band in BANDS])
    names = tuple(status for _, status in keys) if by_status else BANDS

    def count(counts: dict[tuple[str, str], int], key: tuple[str, str]) -> int:
        if by_status:
            return counts.get(key, 0)
        return sum(n for (category, _), n in counts.items() if category == key[0])

    rows = tuple((day, *(count(dict(counts), key) for key in keys)) for day, counts in days)
    last = dict(zip(names, rows[-1][1:], strict=True)) if rows else {}
    title = "Cumulative flow: items in each " + ("status" if by_status else "status category") + " by day"
    return [Dataset("cfd", title, "cfd", ("day", *names), rows, Chart("area", "day", names, "items"),
                    {f"{k}_at_end": v for k, v in last.items()} if not by_status else {}, note=NOTE, brief=True)]
