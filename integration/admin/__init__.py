"""The admin page at `/admin`: see, trust and steer Flowkeeper from the browser.

`init_app(app)` wires it into the app factory: the session cookie, the login limiter,
one blueprint per page, security headers, and a guard that refuses any `/admin` path to
a caller who is not logged in — even a page someone forgets to decorate. Other features
build on `integration.admin.auth.login_required`, `templates/admin/base.html` and
`integration.admin.nav.add_nav_link`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Flask, render_template, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException

from integration.admin.ratelimit import LoginLimiter, limiter_for
from integration.admin.sessions import AdminSessions

PUBLIC_ENDPOINTS = frozenset({"admin_auth.login", "admin.static"})


@dataclass
class AdminState:
    """What the admin feature keeps on `app.extensions["flowkeeper_admin"]`."""

    limiter: LoginLimiter
    sessions: AdminSessions


def init_app(app: Flask) -> None:
    from integration.admin import csrf, security
    from integration.admin.auth import blueprint as auth
    from integration.admin.auth import logged_in, require_login
    from integration.admin.nav import nav_links
    from integration.admin.views import BLUEPRINTS
    from integration.admin.web import template_helpers

    services = app.extensions["flowkeeper"].services
    security.configure_session(app, services.settings.base_url)
    app.extensions["flowkeeper_admin"] = AdminState(limiter=limiter_for(services.redis),
                                                   sessions=AdminSessions(services.store.engine))
    app.register_blueprint(auth)
    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint)

    @app.before_request
    def guard_admin() -> ResponseReturnValue | None:
        if not request.path.startswith("/admin") or request.endpoint in PUBLIC_ENDPOINTS:
            return None
        return require_login()

    @app.context_processor
    def admin_context() -> dict[str, Any]:
        return {
            "csrf_token": csrf.csrf_token,
            "admin_nav": nav_links,
            "admin_logged_in": logged_in,
            **template_helpers(),
        }

    app.after_request(security.harden)
    app.register_error_handler(HTTPException, _admin_error)


def _admin_error(error: HTTPException) -> ResponseReturnValue:
    """Admin errors in the admin layout; every other path keeps Flask's own answer."""
    if not request.path.startswith("/admin"):
        return error
    if request.path.endswith(".json") or request.accept_mimetypes.best == "application/json":
        return {"error": error.name, "reason": error.description}, error.code or 500
    return render_template("admin/error.html", error=error), error.code or 500
