"""One blueprint per admin page; `BLUEPRINTS` lists them in registration order."""

from __future__ import annotations

from flask import Blueprint

from integration.admin.views.audit import blueprint as audit
from integration.admin.views.charts import blueprint as charts
from integration.admin.views.explain import blueprint as explain
from integration.admin.views.flagged import blueprint as flagged
from integration.admin.views.held import blueprint as held
from integration.admin.views.jobs import blueprint as jobs
from integration.admin.views.overview import blueprint as overview
from integration.admin.views.rules import blueprint as rules

BLUEPRINTS: tuple[Blueprint, ...] = (overview, rules, flagged, audit, explain, held, jobs, charts)
