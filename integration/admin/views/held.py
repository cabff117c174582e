"""Held for approval: sweeps the blast-radius guard stopped, their intended writes, approve or discard.

Approval is the sweeps feature's own `held.approve`: every held item is read again from
the tracker, judged on its current state, and only what is still wanted is written,
through the executor. Approving again resumes a batch a rate limit interrupted.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

from flask import Blueprint, flash, jsonify, redirect, render_template, url_for
from flask.typing import ResponseReturnValue

from integration.admin.auth import admin_actor, login_required
from integration.admin.held_rows import held_rows
from integration.admin.trail import record_admin_action
from integration.admin.web import fields, int_arg, scrub, services

try:  # the sweeps feature owns held writes; without it there is nothing to hold
    from integration.sweeps import held as sweeps_held
except ImportError:  # pragma: no cover - only in a build without integration.sweeps
    sweeps_held = None  # type: ignore[assignment]

log = logging.getLogger("flowkeeper.admin")

SHOWN_WRITES = 100
WAITING = ("pending", "approving")

blueprint = Blueprint("admin_held", __name__, url_prefix="/admin")


def waiting_batches() -> list[dict[str, Any]]:
    """Batches waiting for a decision, each with (up to SHOWN_WRITES of) its intended writes."""
    if sweeps_held is None:
        return []
    svc = services()
    found = []
    for state in WAITING:
        for batch in sweeps_held.list_batches(svc, state=state):
            writes = held_rows(sweeps_held.writes_of(svc, batch.id))
            found.append(
                {"batch": batch, "writes": writes[:SHOWN_WRITES], "more": max(0, len(writes) - SHOWN_WRITES)}
            )
    return sorted(found, key=lambda b: b["batch"].id)


def waiting_count() -> int:
    """How many batches wait for a decision (the Overview's figure; no writes read)."""
    if sweeps_held is None:
        return 0
    return sum(len(sweeps_held.list_batches(services(), state=state)) for state in WAITING)


def decided_batches(limit: int = 20) -> list[Any]:
    if sweeps_held is None:
        return []
    return [
        b for b in sweeps_held.list_batches(services(), state=None, limit=limit) if b.state not in WAITING
    ]


def approval_lines(batch: Any) -> list[str]:
    """What an approval did (or has done so far) item by item: '1/2 ENG-1: written', as the CLI prints."""
    result = getattr(batch, "result", None) or {}
    return [str(line) for line in result.get("per_item", [])]


def shown_approval() -> Any:
    """The batch whose approval the page was sent back to show (`?batch=`), when it has results."""
    batch_id = int_arg("batch", 0)
    batch = services().store.held_batches.get(batch_id) if batch_id and sweeps_held is not None else None
    return batch if batch is not None and approval_lines(batch) else None


@blueprint.get("/held")
@login_required
def index() -> ResponseReturnValue:
    return render_template(
        "admin/held.html",
        waiting=waiting_batches(),
        decided=decided_batches(),
        available=sweeps_held is not None,
        shown=shown_approval(),
        approval_lines=approval_lines,
    )


@blueprint.get("/held.json")
@login_required
def as_json() -> ResponseReturnValue:
    return jsonify(
        [
            {
                **fields(b["batch"], "id", "rule", "tracker", "state", "items", "scope", "reason"),
                "created_at": b["batch"].created_at.isoformat(),
                "writes": [
                    {"item": w["item_key"], "summary": w["summary"], "writes": w["writes"], "state": w["state"],
                     "comments": w["comments"]}
                    for w in b["writes"]
                ],
                "more": b["more"],
            }
            for b in waiting_batches()
        ]
    )


APPROVE_INLINE_UP_TO = 50  # held writes approved within the request; more go to a worker (with Redis)


def _who() -> str:
    actor = admin_actor()
    return f"admin session {actor['session']} ({actor['client']})"


def _decision(view: Callable[[int], ResponseReturnValue]) -> Callable[[int], ResponseReturnValue]:
    """Approve and discard: refused in a build without sweeps; a batch that cannot take the
    decision (unknown, already decided) is said in a flash, back on the Held page."""

    @functools.wraps(view)
    def decide(batch_id: int) -> ResponseReturnValue:
        if sweeps_held is None:
            flash("Sweeps are not part of this build: nothing is held.", "error")
            return redirect(url_for("admin_held.index"))
        try:
            return view(batch_id)
        except ValueError as error:
            flash(scrub(error), "error")
            return redirect(url_for("admin_held.index"))

    return decide


@blueprint.post("/held/<int:batch_id>/approve")
@login_required
@_decision
def approve(batch_id: int) -> ResponseReturnValue:
    if len(sweeps_held.writes_of(services(), batch_id)) > APPROVE_INLINE_UP_TO:
        job = sweeps_held.approve_in_background(services(), batch_id, by=_who())
        if job is not None:  # a large batch would outlive the web request: a worker approves it
            log.info("admin.held.approving", extra={"batch": batch_id, "job": job})
            record_admin_action("approve", f"held batch {batch_id} handed to a worker for approval (job {job})",
                                batch=batch_id)
            flash(f"Batch {batch_id} is being approved by a worker (job {job}): reload to follow it.", "ok")
            return redirect(url_for("admin_held.index", batch=batch_id, _anchor=f"batch-{batch_id}"))
    result = sweeps_held.approve(services(), batch_id, by=_who())
    log.info("admin.held.approved", extra={"batch": batch_id, "result": result.describe()})
    record_admin_action("approve", f"held batch {batch_id} approved: {scrub(result.describe())}", batch=batch_id)
    flash(f"Approved {scrub(result.describe())}.", "error" if result.failed else "ok")
    return redirect(url_for("admin_held.index", batch=batch_id, _anchor=f"approval-{batch_id}"))


@blueprint.post("/held/<int:batch_id>/discard")
@login_required
@_decision
def discard(batch_id: int) -> ResponseReturnValue:
    dropped = sweeps_held.discard(services(), batch_id, by=_who())
    log.info("admin.held.discarded", extra={"batch": batch_id, "items": dropped})
    record_admin_action("discard", f"held batch {batch_id} discarded: {dropped} items left unchanged",
                        batch=batch_id)
    flash(f"Discarded batch {batch_id}: {dropped} items left unchanged.", "ok")
    return redirect(url_for("admin_held.index"))
