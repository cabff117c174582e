"""`POST /webhooks/jira` and `POST /webhooks/linear`: one short view each over the guard chain."""

from __future__ import annotations

import logging

from flask import Blueprint, Response, current_app, request

from webhooks.receiver import receive

log = logging.getLogger("flowkeeper.webhooks")

blueprint = Blueprint("webhooks", __name__)


@blueprint.post("/webhooks/jira")
def jira() -> Response:
    retry = request.headers.get("X-Atlassian-Webhook-Retry")
    if retry:
        log.info("webhook.jira.retry", extra={"retry": retry[:8]})
    ext = current_app.extensions["flowkeeper"]
    return receive(ext.jira_spec, request, ext.services.queue)


@blueprint.post("/webhooks/linear")
def linear() -> Response:
    ext = current_app.extensions["flowkeeper"]
    return receive(ext.linear_spec, request, ext.services.queue)
