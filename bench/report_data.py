"""Synthetic history for bench/report.py: N status changes over M items, plus flags and audit entries.

Deterministic (seeded). Rows are produced in chunks so memory stays flat; SQLite gets
batched inserts, PostgreSQL gets COPY. Shapes match what the mirror and executor write;
the status stays' ends are then filled by the same statement as the migration's backfill.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, insert

from integration.codec import to_jsonable
from integration.store.cycle_stays import fill as fill_cycle_stays
from integration.store.first_starts import fill as fill_first_starts
from integration.store.flag_keys import flag_key
from integration.store.stay_days import fill as fill_stay_days
from integration.store.stay_days import fill_times as fill_stay_times
from integration.store.stays import backfill_stays
from integration.store.tables import audit_log, item_history, items, rule_states, service_state
from rules.model import Item, Person, Status, StatusCategory, Tracker

STATUSES = {
    "To Do": StatusCategory.TODO, "In Progress": StatusCategory.IN_PROGRESS,
    "In Review": StatusCategory.IN_PROGRESS, "Blocked": StatusCategory.IN_PROGRESS,
    "Done": StatusCategory.DONE, "Won't Do": StatusCategory.CANCELED,
}
WALK = {  # next status while the item is still being worked on
    "To Do": (("In Progress", 0.9), ("Blocked", 0.1)),
    "In Progress": (("In Review", 0.6), ("To Do", 0.2), ("Blocked", 0.2)),
    "In Review": (("In Progress", 0.8), ("Blocked", 0.2)),
    "Blocked": (("In Progress", 0.9), ("To Do", 0.1)),
}
TEAMS = (("jira", "ENG"), ("jira", "OPS"), ("jira", "WEB"), ("linear", "MOB"), ("linear", "API"))
RULES = (("stalled-in-progress", True), ("review-stalled", True), ("needs-assignee", False),
         ("needs-estimate", False), ("wip-limit", False), ("bug-severity", False))
CHUNK = 20_000


@dataclass
class Plan:
    items: int
    changes: int
    now: datetime
    seed: int = 7
    span_days: int = 730
    counts: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        rng = random.Random(self.seed)
        mean = self.changes / self.items
        self.counts = [max(1, int(rng.uniform(0.5, 1.5) * mean)) for _ in range(self.items)]
        diff = self.changes - sum(self.counts)
        step = 1 if diff > 0 else -1
        n = 0
        while diff:
            if self.counts[n % self.items] + step >= 1:
                self.counts[n % self.items] += step
                diff -= step
            n += 1


def _walk(rng: random.Random, n: int) -> list[str]:
    """n status changes: work bounces between open statuses, then most items finish."""
    path, current = [], "To Do"
    end = rng.random()
    final = "Done" if end < 0.8 else ("Won't Do" if end < 0.85 else None)
    for k in range(n):
        if k == n - 1 and final:
            current = final
        else:
            names, weights = zip(*WALK[current], strict=True)
            current = rng.choices(names, weights)[0]
        path.append(current)
    return path


def _times(rng: random.Random, created: datetime, n: int, now: datetime) -> list[datetime]:
    gaps = [rng.expovariate(1.0) for _ in range(n)]  # about a day between changes
    room = (now - created).total_seconds() / 86400 - 0.01
    scale = min(1.0, room / sum(gaps)) if gaps else 1.0
    out, t = [], created
    for gap in gaps:
        t = t + timedelta(days=gap * scale)
        out.append(t)
    return out


def _fingerprint(*parts: object) -> str:
    return hashlib.sha1("\x1f".join(map(str, parts)).encode()).hexdigest()


def generate(plan: Plan) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """(table name, rows) chunks: items, their history, audit entries, rule states."""
    rng = random.Random(plan.seed)
    history: list[dict[str, Any]] = []
    item_rows: list[dict[str, Any]] = []
    audit: list[dict[str, Any]] = []
    states: list[dict[str, Any]] = []
    for n in range(plan.items):
        tracker, team = TEAMS[n % len(TEAMS)]
        key, item_id = f"{team}-{n + 1}", f"id-{n + 1}"
        created = plan.now - timedelta(days=rng.uniform(1, plan.span_days))
        path = _walk(rng, plan.counts[n])
        times = _times(rng, created, len(path), plan.now)
        history.append(_row(tracker, item_id, key, team, created, "created", None, "To Do"))
        previous = "To Do"
        for at, name in zip(times, path, strict=False):
            history.append(_row(tracker, item_id, key, team, at, "status", previous, name))
            previous = name
        moved = times[-1] if times else created
        item_rows.append(_item(rng, tracker, team, n, key, item_id, created, previous, moved, plan.now))
        if rng.random() < 0.12:
            _flags(rng, audit, states, history, tracker, item_id, key, team, created, plan.now)
        if len(history) >= CHUNK:
            yield "item_history", history
            history = []
        if len(item_rows) >= CHUNK // 4:
            yield "items", item_rows
            item_rows = []
        if len(audit) >= CHUNK:
            yield "audit_log", audit
            audit = []
    yield from (("item_history", history), ("items", item_rows), ("audit_log", audit),
                ("rule_states", states))


def _row(tracker: str, item_id: str, key: str, team: str, at: datetime, field_name: str, old: str | None,
         new: str, actor: str = "human") -> dict[str, Any]:
    return {
        "tracker": tracker, "item_id": item_id, "key": key, "team": team, "at": at, "field": field_name,
        "old": old, "new": new,
        "old_category": STATUSES[old].value if old in STATUSES else None,
        "new_category": STATUSES[new].value if new in STATUSES else None,
        "actor_id": "u1", "actor_kind": actor,
        "fingerprint": _fingerprint(tracker, item_id, at, field_name, new),
    }


def _item(rng: random.Random, tracker: str, team: str, n: int, key: str, item_id: str, created: datetime,
          status: str, moved: datetime, now: datetime) -> dict[str, Any]:
    person = f"user-{rng.randrange(60)}" if rng.random() < 0.85 else None
    project = f"{team} project {rng.randrange(40)}" if rng.random() < 0.3 else None
    is_epic = tracker == "jira" and n % 250 == 0
    item = Item(
        tracker=Tracker(tracker), id=item_id, key=key, title=f"Bench item {n}", team=team,
        status=Status(status, STATUSES[status]), assignee=Person(person, person.title()) if person else None,
        estimate=float(rng.choice((1, 2, 3, 5, 8))) if rng.random() < 0.6 else None,
        project=None if is_epic else project, parent=f"{team}-EPIC-{rng.randrange(8)}" if project else None,
        type="Epic" if is_epic else "Story", created_at=created, updated_at=moved, status_changed_at=moved,
        due_date=(now + timedelta(days=rng.randrange(-30, 120))).date() if is_epic else None,
    )
    return {
        "tracker": tracker, "item_id": item_id, "key": key, "team": team, "title": item.title,
        "status_name": status, "status_category": STATUSES[status].value,
        "assignee_id": person, "assignee_name": person.title() if person else None, "estimate": item.estimate,
        "created_at": created, "updated_at": moved, "status_changed_at": moved, "last_activity_at": moved,
        "deleted": False, "data": to_jsonable(item), "synced_at": now, "parent": item.parent, "project": item.project,
    }


def _flags(rng: random.Random, audit: list[dict[str, Any]], states: list[dict[str, Any]],
           history: list[dict[str, Any]], tracker: str, item_id: str, key: str, team: str, created: datetime,
           now: datetime) -> None:
    """A few flag episodes per flagged item: label + comment, then (mostly) the close write."""
    rule, _scheduled = rng.choice(RULES)
    mode = "live" if rng.random() < 0.7 else "dry"
    outcome = "done" if mode == "live" else "would_do"
    episode, t = 0, created
    for episode in range(1, rng.randrange(2, 8)):
        t = t + timedelta(days=rng.expovariate(1 / 20))
        if t >= now:
            break
        for kind, labels in (("add_labels", [rule]), ("comment", None)):
            audit.append(_audit(t, tracker, key, rule, f"{rule}/{episode}/0/{kind}", kind, outcome, labels))
        if mode == "live" and rng.random() < 0.05:
            history.append(_row(tracker, item_id, key, team, t + timedelta(hours=3), "labels", None, "",
                                "human") | {"old": f"-{rule}", "new": None,
                                            "fingerprint": _fingerprint(item_id, t, "undo")})
        closed = t + timedelta(days=rng.expovariate(1 / 4))
        if closed < now and rng.random() < 0.8:
            audit.append(_audit(closed, tracker, key, rule, f"{rule}/{episode}/close/remove_labels",
                                "remove_labels", outcome, [rule]))
            t = closed
        else:
            states.append({"tracker": tracker, "item_id": item_id, "item_key": key, "rule": rule,
                           "mode": mode, "episode": episode, "active": True, "opened_at": t,
                           "closed_at": None,
                           "steps_done": ["0"], "last_action_at": t})
            return
    for _ in range(3):  # the pipeline's "no rule acted" entries, which hygiene must skip
        audit.append({"at": t, "tracker": tracker, "item_key": key, "rule": None, "action": "updated",
                      "outcome": "skipped", "reason": "no rule acted (6 evaluated)", "delivery_id": None,
                      "detail": {"event": "jira:issue_updated"}, **flag_key(None, None)})


def _audit(at: datetime, tracker: str, key: str, rule: str, identity: str, kind: str, outcome: str,
           labels: list[str] | None) -> dict[str, Any]:
    detail: dict[str, Any] = {"identity": identity}
    if labels:
        detail["labels"] = labels
    return {"at": at, "tracker": tracker, "item_key": key, "rule": rule, "action": kind, "outcome": outcome,
            "reason": "bench", "delivery_id": None, "detail": detail, **flag_key(rule, detail)}


TABLES = {"items": items, "item_history": item_history, "audit_log": audit_log, "rule_states": rule_states}


def load(engine: Engine, plan: Plan) -> dict[str, int]:
    """Write the generated rows; returns rows per table."""
    counts: dict[str, int] = {}
    copy = engine.dialect.name == "postgresql"
    for name, rows in generate(plan):
        if not rows:
            continue
        counts[name] = counts.get(name, 0) + len(rows)
        _copy(engine, name, rows) if copy else _insert(engine, name, rows)
    with engine.begin() as conn:  # the stays' ends and daily counts, as the migrations fill them for history kept before
        backfill_stays(conn)
        fill_stay_days(conn)
        fill_stay_times(conn)
        fill_cycle_stays(conn)
        fill_first_starts(conn)
    targets = {f"MOB project {n}": (plan.now + timedelta(days=10 * n - 60)).date().isoformat()
               for n in range(40)}
    with engine.begin() as conn:
        conn.execute(insert(service_state).values(key="linear.project_targets", value=targets,
                                                  updated_at=plan.now))
    return counts


def _insert(engine: Engine, name: str, rows: list[dict[str, Any]]) -> None:
    with engine.begin() as conn:
        conn.execute(insert(TABLES[name]), rows)


def _copy(engine: Engine, name: str, rows: list[dict[str, Any]]) -> None:
    columns = list(rows[0])
    raw = engine.raw_connection()
    try:
        statement = f"COPY {name} ({', '.join(columns)}) FROM STDIN"
        driver = raw.driver_connection
        with driver.cursor() as cursor, cursor.copy(statement) as copy:  # type: ignore[union-attr]
            for row in rows:
                copy.write_row([_pg(row[c]) for c in columns])
        raw.commit()
    finally:
        raw.close()


def _pg(value: Any) -> Any:
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    return value
