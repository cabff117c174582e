"""`POST /webhooks/jira` and `POST /webhooks/linear`, answered ahead of Flask's dispatch.

A delivery needs nothing Flask's dispatch adds to a request (a request context, the admin
session, URL matching, the admin's before and after hooks): answered by the WSGI callable
in front of it, over the same guard chain, it costs about a quarter fewer instructions.
Every other path goes to Flask; OPTIONS on these two paths names their methods (204, no
signature needed, nothing queued), and any other method is a 405.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask
from werkzeug.exceptions import MethodNotAllowed
from werkzeug.http import HTTP_STATUS_CODES

from integration.observability.web import count_webhook
from webhooks.receiver import receive

ROUTES = {"/webhooks/jira": "jira", "/webhooks/linear": "linear"}
METHODS = ["POST", "OPTIONS"]

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class WebhookEndpoints:
    """The app's WSGI callable: webhook deliveries here, everything else to Flask (`app.wsgi_app`)."""

    def __init__(self, app: Flask, flask: WSGIApp) -> None:
        self.app, self.flask = app, flask

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        tracker = ROUTES.get(environ.get("PATH_INFO", ""))
        if tracker is None:
            return self.flask(environ, start_response)
        if environ.get("REQUEST_METHOD") != "POST":
            return _not_a_delivery(environ, start_response)
        started = time.perf_counter()
        ext = self.app.extensions["flowkeeper"]
        spec = ext.jira_spec if tracker == "jira" else ext.linear_spec
        try:
            answer = receive(spec, environ, ext.services.queue)
        except Exception as error:  # noqa: BLE001  # answered as Flask's dispatch answers it
            failed = self._flask_answer(environ, error)
            count_webhook(tracker, f"http_{failed.status_code}", time.perf_counter() - started)
            return failed(environ, start_response)
        count_webhook(tracker, answer.outcome, time.perf_counter() - started)
        start_response(f"{answer.status} {HTTP_STATUS_CODES[answer.status]}",
                       [("Content-Type", "application/json"), ("Content-Length", str(len(answer.body)))])
        return [answer.body]

    def _flask_answer(self, environ: dict[str, Any], error: Exception) -> Any:
        """Flask's answer to the exception being handled, as its dispatch gives it: an HTTP error
        as itself (a client gone mid-body: 400), anything else logged and 500 (raised when testing)."""
        with self.app.request_context(environ):
            try:
                return self.app.make_response(self.app.handle_user_exception(error))
            except Exception as unhandled:  # noqa: BLE001
                return self.app.handle_exception(unhandled)


def _not_a_delivery(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """OPTIONS: the path's methods, nothing else; any other method but POST: 405 naming them."""
    if environ.get("REQUEST_METHOD") == "OPTIONS":
        start_response("204 No Content", [("Allow", ", ".join(METHODS))])
        return []
    return MethodNotAllowed(valid_methods=METHODS)(environ, start_response)
