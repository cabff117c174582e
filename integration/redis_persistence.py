"""Start-up check: does Redis keep acknowledged deliveries on disk?

A webhook is answered 200 once its delivery is in Redis; only Redis persistence makes
that 200 a promise across a Redis restart. Managed Redis often forbids CONFIG: then
Flowkeeper cannot tell and says nothing.
"""

from __future__ import annotations

import logging
from typing import Any

from redis.exceptions import RedisError

log = logging.getLogger("flowkeeper")

ADVICE = "set `appendonly yes` (appendfsync everysec) on this Redis, or use a plan with persistence"


def persistence_warning(connection: Any) -> str | None:
    """The warning to log when Redis would lose acknowledged deliveries on a restart, else None."""
    try:
        config = connection.config_get("appendonly") | connection.config_get("save")
    except RedisError:  # CONFIG disabled (managed Redis) or Redis away: nothing known, nothing said
        return None
    if str(config.get("appendonly", "")).lower() != "no":
        return None
    if not str(config.get("save", "")).strip():
        return ("Redis keeps nothing on disk (appendonly no, no snapshots): a Redis restart loses every queued "
                f"delivery that was already answered 200; {ADVICE}")
    return ("Redis has no append-only file (appendonly no): a Redis restart loses the deliveries answered 200 "
            f"since its last snapshot; {ADVICE}")


def warn_without_persistence(connection: Any) -> None:
    message = persistence_warning(connection)
    if message:
        log.warning("redis.no_persistence: %s", message)
