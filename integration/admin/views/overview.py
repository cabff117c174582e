"""Overview (is Flowkeeper connected and healthy?) and Setup (what to paste into the trackers)."""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from integration.admin.auth import login_required
from integration.admin.queries.overview import (
    TEST_KEY,
    TRACKERS,
    mirror_size,
    rules_status,
    tracker_statuses,
    warnings,
)
from integration.admin.queries.queue import QueueHealth, embedded_health, redis_health
from integration.admin.queries.scheduler import scheduler_status
from integration.admin.views.held import waiting_count
from integration.admin.web import now, scrub, services
from integration.trackers.factory import make_clients

log = logging.getLogger("flowkeeper.admin")

blueprint = Blueprint(
    "admin",
    "integration.admin",
    url_prefix="/admin",
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)


def queue_health() -> QueueHealth:
    svc = services()
    return redis_health(svc.redis) if svc.redis is not None else embedded_health(svc.store)


def overview_facts() -> dict[str, Any]:
    svc = services()
    trackers = tracker_statuses(svc)
    queue = queue_health()
    return {
        "trackers": trackers,
        "queue": queue,
        "scheduler": scheduler_status(svc, queue, now()),
        "dry_run_requested": svc.settings.dry_run_requested,
        "mirror_items": mirror_size(svc.store),
        "last_sync": max((t.last_sync for t in trackers if t.last_sync), default=None),
        "rules": rules_status(svc),
        "held": waiting_count(),
        "warnings": warnings(svc.settings),
    }


@blueprint.get("/")
@login_required
def overview() -> ResponseReturnValue:
    return render_template("admin/overview.html", now=now(), **overview_facts())


@blueprint.get("/overview.json")
@login_required
def overview_json() -> ResponseReturnValue:
    facts = overview_facts()
    queue: QueueHealth = facts["queue"]
    return jsonify(
        {
            "trackers": [_tracker_json(t) for t in facts["trackers"]],
            "queue": {
                "backend": queue.backend,
                "error": queue.error,
                "deliveries": queue.deliveries,
                "queues": [vars(q) for q in queue.queues],
                "heartbeats": [
                    {"name": h.name, "kind": h.kind, "state": h.state, "last_seen": _iso(h.last_seen)}
                    for h in queue.heartbeats
                ],
            },
            "scheduler": {"doing": facts["scheduler"].doing, "ok": facts["scheduler"].ok},
            "dry_run_requested": facts["dry_run_requested"],
            "mirror": {"items": facts["mirror_items"], "last_sync": _iso(facts["last_sync"])},
            "rules": {
                "files": facts["rules"].files,
                "rules": facts["rules"].rules,
                "errors": facts["rules"].errors,
            },
            "warnings": facts["warnings"],
            "held_batches": facts["held"],
        }
    )


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def _tracker_json(status: Any) -> dict[str, Any]:
    delivery = status.last_delivery
    return {
        "name": status.name,
        "configured": status.configured,
        "dry_run": status.dry_run,
        "webhook_secrets": status.webhook_secrets,
        "account": status.account,
        "last_sync": _iso(status.last_sync),
        "last_delivery": {k: _iso(v) if hasattr(v, "isoformat") else v for k, v in delivery.items()}
        if delivery
        else None,
        "last_test": status.last_test,
    }


@blueprint.post("/connections/<tracker>/test")
@login_required
def test_connection(tracker: str) -> ResponseReturnValue:
    """Call Jira's /myself or Linear's viewer with a fresh client, so nothing cached answers."""
    if tracker not in TRACKERS:
        abort(404)
    svc = services()
    client = make_clients(svc.settings).get(tracker)
    if client is None:
        flash(f"{tracker.title()} is not configured.", "error")
        return redirect(url_for("admin.overview"))
    at = now()
    try:
        me = client.whoami()
    except Exception as error:  # noqa: BLE001 - any failure is the answer the admin asked for
        detail = scrub(f"{type(error).__name__}: {error}")
        svc.store.service.put(
            TEST_KEY.format(tracker=tracker), {"ok": False, "detail": detail, "at": at.isoformat()}, at
        )
        log.warning("admin.connection_test.failed", extra={"tracker": tracker, "error": detail})
        flash(f"{tracker.title()}: the credentials did not work — {detail}", "error")
        return redirect(url_for("admin.overview"))
    name = me.name or me.id
    svc.store.service.put(f"{tracker}.whoami", {"id": me.id, "name": me.name}, at)
    svc.store.service.put(
        TEST_KEY.format(tracker=tracker),
        {"ok": True, "detail": f"signed in as {name}", "at": at.isoformat()},
        at,
    )
    flash(f"{tracker.title()}: connected as {name}.", "ok")
    return redirect(url_for("admin.overview"))


@blueprint.get("/setup")
@login_required
def setup() -> ResponseReturnValue:
    from integration.admin.setup_info import setup_facts

    return render_template("admin/setup.html", **setup_facts(services().settings, request.host_url))
