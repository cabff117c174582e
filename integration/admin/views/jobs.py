"""Failed jobs: what failed and why, with requeue and delete."""

from __future__ import annotations

import logging
from collections.abc import Callable

from flask import Blueprint, flash, jsonify, redirect, render_template, url_for
from flask.typing import ResponseReturnValue

from integration.admin.auth import login_required
from integration.admin.failed import PAGE, FailedJobs, JobGone, failed_jobs
from integration.admin.trail import record_admin_action
from integration.admin.web import int_arg, scrub, services

log = logging.getLogger("flowkeeper.admin")

blueprint = Blueprint("admin_jobs", __name__, url_prefix="/admin")


def backend() -> FailedJobs:
    svc = services()
    return failed_jobs(svc.redis, svc.store)


def _listing() -> tuple[FailedJobs, int]:
    """The failed jobs and the offset the request asks for."""
    return backend(), int_arg("offset", 0) or 0


@blueprint.get("/jobs")
@login_required
def index() -> ResponseReturnValue:
    jobs, offset = _listing()
    return render_template(
        "admin/jobs.html",
        jobs=jobs.page(offset),
        total=jobs.count(),
        offset=offset,
        page_size=PAGE,
        backend=jobs.backend,
    )


@blueprint.get("/jobs.json")
@login_required
def failed_json() -> ResponseReturnValue:
    jobs, offset = _listing()
    return jsonify(
        {
            "backend": jobs.backend,
            "total": jobs.count(),
            "jobs": [
                {
                    "id": j.id,
                    "source": j.source,
                    "description": scrub(j.description),
                    "item": j.item_key,
                    "failed_at": j.failed_at.isoformat() if j.failed_at else None,
                    "error": scrub(j.error),
                    "can_requeue": j.can_requeue,
                }
                for j in jobs.page(offset)
            ],
        }
    )


@blueprint.post("/jobs/<job_id>/requeue")
@login_required
def requeue(job_id: str) -> ResponseReturnValue:
    return _act(job_id, backend().requeue, "requeued", "requeue")


@blueprint.post("/jobs/<job_id>/delete")
@login_required
def delete(job_id: str) -> ResponseReturnValue:
    return _act(job_id, backend().delete, "deleted", "delete_job")


def _act(job_id: str, act: Callable[[str], str], done: str, audit_action: str) -> ResponseReturnValue:
    """Requeue or delete one failed job: logged, recorded in the audit trail, flashed as `done`."""
    try:
        what = act(job_id)
    except JobGone:
        flash("That job is no longer in the failed list (requeued, deleted or expired).", "error")
        return redirect(url_for("admin_jobs.index"))
    log.info(f"admin.job.{done}", extra={"job": job_id})
    record_admin_action(audit_action, f"{done} {scrub(what)}", job=job_id)
    flash(f"{done.capitalize()} {scrub(what)}.", "ok")
    return redirect(url_for("admin_jobs.index"))
