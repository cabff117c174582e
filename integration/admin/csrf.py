"""CSRF tokens: one random token per session, required on every state-changing admin request.

Forms carry it as a hidden `csrf_token` field, scripts as the `X-CSRF-Token` header.
The session cookie is SameSite too; the token is what makes a forged POST fail even in
browsers that ignore SameSite.
"""

from __future__ import annotations

import hmac
import secrets

from flask import abort, request, session

SESSION_KEY = "fk_csrf"
FIELD = "csrf_token"
HEADER = "X-CSRF-Token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def csrf_token() -> str:
    """The session's token, created on first use (templates call this for every form)."""
    token = session.get(SESSION_KEY)
    if not isinstance(token, str) or len(token) < 32:
        token = secrets.token_urlsafe(32)
        session[SESSION_KEY] = token
    return token


def token_valid() -> bool:
    expected = session.get(SESSION_KEY)
    given = request.form.get(FIELD) or request.headers.get(HEADER) or ""
    return (
        isinstance(expected, str) and bool(given) and hmac.compare_digest(expected.encode(), given.encode())
    )


def enforce() -> None:
    """Abort with 400 when an unsafe request lacks the session's token."""
    if request.method in UNSAFE_METHODS and not token_valid():
        abort(
            400,
            description="The form expired or did not come from this site (CSRF token missing or wrong). "
            "Reload the page and try again.",
        )


def rotate() -> None:
    """A new token after login and logout, so a token seen before login is worthless after it."""
    session[SESSION_KEY] = secrets.token_urlsafe(32)
