"""The history clocks of a batch of items, keyed as rules.clocks reads them, in three queries.

- `label:<name>`: when the label was last put on, by anyone — Flowkeeper's own flags
  included (the executor records each label it adds);
- `field:<name>`: when a field last changed, by a person or a bot (not by Flowkeeper);
- `by:<person id>`: each person's last activity (bots and Flowkeeper never count).

`own_labels` says which labels on an item are Flowkeeper's: those it put on last, with no
one taking them off or putting them on since. Only those are Flowkeeper's to remove.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, Engine, func, select

from integration.store.db import reading
from integration.store.tables import item_history
from rules.clocks import actor_key, field_key, label_key
from rules.model import ActorKind

Clocks = dict[str, dict[str, datetime]]
_NOT_CHANGES = ("comment", "seen", "created")  # history entries that change no field


def history_clocks(engine: Engine, tracker: str, ids: list[str], conn: Connection | None = None) -> Clocks:
    if not ids:
        return {}
    found: Clocks = {}
    h = item_history.c
    batch = (h.tracker == tracker, h.item_id.in_(ids))
    fields = (select(h.item_id, h.field, func.max(h.at))
              .where(*batch, h.actor_kind != ActorKind.FLOWKEEPER.value, h.field.not_in(_NOT_CHANGES))
              .group_by(h.item_id, h.field))
    people = (select(h.item_id, h.actor_id, func.max(h.at))
              .where(*batch, h.actor_kind == ActorKind.HUMAN.value, h.actor_id.is_not(None))
              .group_by(h.item_id, h.actor_id))
    labels = select(h.item_id, h.new, h.at).where(*batch, h.field == "labels", h.new.is_not(None))
    with reading(engine, conn) as conn:
        for item_id, name, at in conn.execute(fields):
            _later(found, item_id, field_key(name), at)
        for item_id, actor_id, at in conn.execute(people):
            _later(found, item_id, actor_key(actor_id), at)
        for item_id, new, at in conn.execute(labels):
            for token in str(new).split():
                if token.startswith("+") and len(token) > 1:
                    _later(found, item_id, label_key(token[1:]), at)
    return found


def _later(found: Clocks, item_id: str, key: str, at: datetime) -> None:
    clocks = found.setdefault(item_id, {})
    if key not in clocks or at > clocks[key]:
        clocks[key] = at


def own_labels(engine: Engine, tracker: str, ids: list[str], conn: Connection | None = None) -> dict[str, frozenset[str]]:
    """item → the labels (casefolded) whose last recorded change is Flowkeeper putting them on."""
    if not ids:
        return {}
    h = item_history.c
    query = (select(h.item_id, h.actor_kind, h.old, h.new)
             .where(h.tracker == tracker, h.item_id.in_(ids), h.field == "labels")
             .order_by(h.item_id, h.at, h.id))
    last: dict[str, dict[str, bool]] = {}  # item → label → put on by Flowkeeper (last change)
    with reading(engine, conn) as conn:
        for item_id, kind, old, new in conn.execute(query):
            changes = last.setdefault(item_id, {})
            ours = kind == ActorKind.FLOWKEEPER.value
            for token in f"{old or ''} {new or ''}".split():
                if token[:1] in "+-" and len(token) > 1:
                    changes[token[1:].casefold()] = ours and token[0] == "+"
    return {item_id: frozenset(label for label, ours in changes.items() if ours) for item_id, changes in last.items()}
