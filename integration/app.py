"""The Flask app factory: `create_app(config=None)`.

`config` holds environment-style overrides (tests pass `DATABASE_URL`, `REDIS_URL`, …)
that `load_settings` lays over the environment and validates with everything else.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask import Flask

from integration.intake import StoredValue
from integration.services import Services, build_services
from integration.settings import Settings, load_settings
from webhooks.receiver import ReceiverSpec
from webhooks.specs import jira_spec, linear_spec

log = logging.getLogger("flowkeeper.app")


@dataclass
class Extension:
    """What the web process keeps on `app.extensions["flowkeeper"]`."""

    services: Services
    jira_spec: ReceiverSpec
    linear_spec: ReceiverSpec


class _OrganizationCache(StoredValue):
    """The connected Linear organization: the setting when given, else what the worker stored.

    The receiver consults it on every Linear delivery; a database that is away keeps the last value.
    """

    def __init__(self, settings: Settings, services: Services) -> None:
        super().__init__(services.store, "linear.organization_id", settings.linear_organization_id)
        self.settings = settings

    def __call__(self) -> str | None:
        return self.settings.linear_organization_id or self.read()


def create_app(config: Mapping[str, Any] | None = None, *, services: Services | None = None) -> Flask:
    settings = services.settings if services else load_settings(overrides=config)
    services = services or build_services(settings)
    app = Flask(__name__)
    app.config["SECRET_KEY"] = settings.admin.secret_key.reveal() or os.urandom(32)
    app.config["MAX_CONTENT_LENGTH"] = None  # the receiver enforces its own limit with a 413 + reason
    app.extensions["flowkeeper"] = Extension(
        services=services,
        jira_spec=jira_spec(settings),
        linear_spec=linear_spec(settings, _OrganizationCache(settings, services)),
    )
    from integration.health import blueprint as health
    from webhooks.views import WebhookEndpoints

    app.register_blueprint(health)
    app.wsgi_app = WebhookEndpoints(app, app.wsgi_app)  # type: ignore[method-assign]  # deliveries skip Flask's dispatch
    from integration.admin import init_app as init_admin

    init_admin(app)  # the admin page at /admin (login, CSRF, one blueprint per page)
    from integration.reports.web import blueprint as reports

    app.register_blueprint(reports)  # /admin/reports, behind the admin login
    from integration.observability import init_app as init_observability

    init_observability(app)  # /metrics (FLOWKEEPER_METRICS_TOKEN), /openapi.yaml
    return app
