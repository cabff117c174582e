"""Cookie and header hardening for the admin pages.

The session cookie is HttpOnly and SameSite=Lax always, and Secure whenever the page is
served over HTTPS: directly, behind Heroku's router (`X-Forwarded-Proto`), or when the
public URL is https. Admin responses forbid framing, sniffing and caching, and the
Content-Security-Policy allows only this site's own scripts, styles and images — no
inline script, no CDN.
"""

from __future__ import annotations

from datetime import timedelta

from flask import Flask, Request, Response, request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
    "base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)


class AdminSessionInterface(SecureCookieSessionInterface):
    """Mark the cookie Secure when the browser reached us over HTTPS (also via a proxy).

    A tracker's webhook has no session: its requests neither read nor set the cookie.
    """

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if request.path.startswith("/webhooks/"):
            return None  # Flask's null session: nothing to read, nothing saved
        return super().open_session(app, request)

    def get_cookie_secure(self, app: Flask) -> bool:  # type: ignore[override]
        if super().get_cookie_secure(app):
            return True
        base_url = str(app.config.get("ADMIN_PUBLIC_URL") or "")
        forwarded = request.headers.get("X-Forwarded-Proto", "").split(",")[0].strip().lower()
        return request.is_secure or forwarded == "https" or base_url.startswith("https://")


def configure_session(app: Flask, public_url: str | None) -> None:
    app.session_interface = AdminSessionInterface()
    app.config.update(
        SESSION_COOKIE_NAME="flowkeeper_admin",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_PATH="/",
        PERMANENT_SESSION_LIFETIME=timedelta(hours=12),
        ADMIN_PUBLIC_URL=public_url or "",
    )


def harden(response: Response) -> Response:
    """after_request for admin blueprints: headers every admin response carries."""
    if request.path.startswith("/admin"):
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if not request.path.startswith("/admin/static/"):
            response.headers["Cache-Control"] = "no-store"
    return response
