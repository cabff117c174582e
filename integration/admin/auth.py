"""Admin login: one password (`ADMIN_PASSWORD`), a server-side session, rate-limited attempts.

`login_required` guards every admin view (and the Reports pages): it checks the session,
refuses JSON callers with a 401 instead of a redirect, and enforces the CSRF token on
every state-changing request. The signed cookie names a session recorded in the store
(`integration.admin.sessions`), so logging out ends it for every copy of the cookie;
changing `ADMIN_PASSWORD` ends every session at once, because each session carries a
fingerprint of the password it was opened with.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import logging
from collections.abc import Callable
from typing import Any, TypeVar, cast

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue

from integration.admin import csrf
from integration.admin.clients import client_address
from integration.admin.ratelimit import LoginLimiter
from integration.admin.sessions import AdminSessions, short_id
from integration.admin.web import now, services, wants_json

log = logging.getLogger("flowkeeper.admin")

SESSION_KEY = "fk_admin"

F = TypeVar("F", bound=Callable[..., Any])

blueprint = Blueprint("admin_auth", __name__, url_prefix="/admin")


def password_matches(given: str, expected: str) -> bool:
    """Compare digests in constant time: neither the length nor a prefix of the password leaks."""
    if not expected:
        return False
    given_digest = hashlib.sha256(given.encode("utf-8")).digest()
    expected_digest = hashlib.sha256(expected.encode("utf-8")).digest()
    return hmac.compare_digest(given_digest, expected_digest)


def _fingerprint() -> str:
    """Ties a session to the current password: a changed ADMIN_PASSWORD logs everyone out."""
    password = services().settings.admin.password.reveal()
    key = current_app.secret_key
    key_bytes = key if isinstance(key, bytes) else str(key).encode()
    return hmac.new(key_bytes, password.encode("utf-8"), hashlib.sha256).hexdigest()[:32]


def logged_in() -> bool:
    """Checked once per request and session (the guard and the page's menu both ask)."""
    marker = session.get(SESSION_KEY)
    if not isinstance(marker, dict) or not services().settings.admin.password:
        return False
    checked = g.get("fk_login_checked")
    if checked is not None and checked[0] == marker.get("id"):
        return bool(checked[1])
    alive = hmac.compare_digest(str(marker.get("v", "")), _fingerprint()) and _sessions().alive(marker.get("id"), now())
    g.fk_login_checked = (marker.get("id"), alive)
    return alive


def admin_actor() -> dict[str, str]:
    """Who did an admin action, for the audit log: the session (by a short name) and the client."""
    marker = session.get(SESSION_KEY)
    session_id = marker.get("id") if isinstance(marker, dict) else None
    return {"by": "admin", "session": short_id(session_id), "client": client_key()}


def require_login() -> ResponseReturnValue | None:
    """None when the request may go on; else the answer for a caller who is not logged in."""
    if not logged_in():
        if wants_json() or request.method != "GET":
            response = jsonify({"error": "login required", "login": url_for("admin_auth.login")})
            response.status_code = 401
            return response
        return redirect(url_for("admin_auth.login", next=request.full_path.rstrip("?")))
    csrf.enforce()
    return None


def login_required(view: F) -> F:
    """Guard an admin view: login first, then the CSRF token on POST/PUT/PATCH/DELETE."""

    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> ResponseReturnValue:
        refused = require_login()
        return refused if refused is not None else view(*args, **kwargs)

    return cast(F, wrapped)


def client_key() -> str:
    """Who is asking: the peer, or the address a proxy in FLOWKEEPER_TRUSTED_PROXIES forwarded."""
    return client_address(request.remote_addr, request.headers.get("X-Forwarded-For"),
                          services().settings.admin.trusted_proxies)


def _limiter() -> LoginLimiter:
    return current_app.extensions["flowkeeper_admin"].limiter  # type: ignore[no-any-return]


def _sessions() -> AdminSessions:
    return current_app.extensions["flowkeeper_admin"].sessions  # type: ignore[no-any-return]


def _safe_next(target: str | None) -> str:
    """Only a local admin path: `next` must never become an open redirect."""
    if target and target.startswith("/admin") and not target.startswith("//") and "\\" not in target:
        return target
    return url_for("admin.overview")


@blueprint.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    configured = bool(services().settings.admin.password)
    if request.method == "GET":
        if configured and logged_in():
            return redirect(_safe_next(request.args.get("next")))
        return render_template("admin/login.html", configured=configured, next=request.args.get("next", ""))
    csrf.enforce()
    return _attempt(configured)


def _refused(error: str, status: int) -> Response:
    """The login form again, saying why the attempt was refused."""
    page = render_template("admin/login.html", configured=True, next=request.form.get("next", ""), error=error)
    return Response(page, status=status)


def _attempt(configured: bool) -> ResponseReturnValue:
    who = client_key()
    if not configured:
        abort(403, description="The admin page is disabled: set ADMIN_PASSWORD to enable it.")
    if _limiter().blocked(who):
        log.warning("admin.login.rate_limited", extra={"client": who})
        response = _refused("Too many failed attempts. Wait 15 minutes and try again.", 429)
        response.headers["Retry-After"] = "900"
        return response
    if not password_matches(request.form.get("password", ""), services().settings.admin.password.reveal()):
        _limiter().failed(who)
        log.warning("admin.login.failed", extra={"client": who})
        return _refused("That password is not right.", 401)
    _limiter().succeeded(who)
    session.clear()
    session.permanent = True
    session[SESSION_KEY] = {"id": _sessions().open(who, now()), "v": _fingerprint()}
    csrf.rotate()
    log.info("admin.login.ok", extra={"client": who})
    return redirect(_safe_next(request.form.get("next")))


@blueprint.post("/logout")
@login_required
def logout() -> ResponseReturnValue:
    marker = session.get(SESSION_KEY)
    _sessions().close(marker.get("id") if isinstance(marker, dict) else None)
    session.clear()
    csrf.rotate()
    flash("You are logged out.")
    return redirect(url_for("admin_auth.login"))
