"""Admin actions in the audit log: who (which admin session, from which client) did what, when.

Rule switches, approvals, requeues and deletions change what Flowkeeper does; the
process log is not where a team looks for that later. The rule a switch concerns goes
in the entry's detail, not its `rule` column, so the Rules page's decision counts stay
counts of decisions.
"""

from __future__ import annotations

from typing import Any

from integration.admin.auth import admin_actor
from integration.admin.web import now, services
from integration.store.audit import AuditEntry, Outcome

ADMIN_TRACKER = "admin"  # the audit log's tracker column for actions taken on the admin page


def record_admin_action(action: str, reason: str, **detail: Any) -> None:
    """One audit entry `admin:<action>` with the acting session and client in its detail."""
    entry = AuditEntry(at=now(), tracker=ADMIN_TRACKER, action=f"admin:{action}"[:32], outcome=Outcome.DONE,
                       reason=reason, detail={**admin_actor(), **detail})
    services().store.audit.record([entry])
