"""Server-side admin sessions: a copied cookie stops working the moment its session ends.

The signed cookie alone would stay valid until it expires, whatever happens on the
server. So each login records a random session id in the shared store (every web
process reads the same rows); the cookie only names it. Logging out deletes the row,
and a row older than `SESSION_HOURS` no longer counts. The password fingerprint in the
cookie still ends every session when `ADMIN_PASSWORD` changes.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import Engine, delete, insert, select

from integration.store.db import read_connection
from integration.store.tables import service_state

SESSION_HOURS = 12
_PREFIX = "admin-session:"


def _key(session_id: str) -> str:
    """The store never holds the id itself: a leaked table row cannot be replayed as a cookie."""
    return _PREFIX + hashlib.sha256(session_id.encode()).hexdigest()[:40]


class AdminSessions:
    def __init__(self, engine: Engine, lifetime: timedelta = timedelta(hours=SESSION_HOURS)) -> None:
        self.engine = engine
        self.lifetime = lifetime

    def open(self, client: str, now: datetime) -> str:
        """A new session id; expired sessions are swept out on the way."""
        session_id = secrets.token_urlsafe(32)
        with self.engine.begin() as conn:
            conn.execute(delete(service_state).where(service_state.c.key.startswith(_PREFIX),
                                                     service_state.c.updated_at < now - self.lifetime))
            conn.execute(insert(service_state).values(key=_key(session_id), value={"client": client[:64]},
                                                      updated_at=now))
        return session_id

    def alive(self, session_id: object, now: datetime) -> bool:
        if not isinstance(session_id, str) or not session_id:
            return False
        with read_connection(self.engine) as conn:  # every admin request: never the write lock
            opened = conn.execute(select(service_state.c.updated_at)
                                  .where(service_state.c.key == _key(session_id))).scalar()
        return opened is not None and now - opened < self.lifetime

    def close(self, session_id: object) -> None:
        if isinstance(session_id, str) and session_id:
            with self.engine.begin() as conn:
                conn.execute(delete(service_state).where(service_state.c.key == _key(session_id)))

    def close_all(self) -> int:
        """End every admin session (e.g. after a suspected leak)."""
        with self.engine.begin() as conn:
            return conn.execute(delete(service_state).where(service_state.c.key.startswith(_PREFIX))).rowcount


def short_id(session_id: object) -> str:
    """A session's name in the audit log: enough to tell sessions apart, useless as a cookie."""
    return hashlib.sha256(str(session_id).encode()).hexdigest()[:8]
