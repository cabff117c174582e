"""Rules: every rule with its source, triggers, scope and recent activity, plus admin overrides.

Overrides (enabled, dry run) live in the database, win over the file and take effect on
the next event: the pipeline reads them at every evaluation. The page never edits YAML —
rule files stay the source of truth for what a rule says. An override can switch a rule
live or dry whatever the file says, but never lift the global dry run.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from integration.admin.auth import login_required
from integration.admin.queries.stats import RuleStats, rule_stats
from integration.admin.trail import record_admin_action
from integration.admin.web import now, services
from rules.engine import effective as engine_effective
from rules.model import EvalContext

log = logging.getLogger("flowkeeper.admin")

HITS_WINDOW = timedelta(days=7)

blueprint = Blueprint("admin_rules", __name__, url_prefix="/admin")


@dataclass(frozen=True)
class RuleRow:
    rule: Any
    source: str
    override: dict[str, bool]
    enabled: bool
    own_dry_run: bool  # the rule's own (file or override): what the dry-run switch shows
    dry_run: bool  # in effect, the global dry run included
    dry_run_reason: str | None
    stats: RuleStats

    @property
    def overridden(self) -> bool:
        return bool(self.override)


def source_label(path: str, rules_dir: Path | None) -> str:
    """A rule file as people know it: relative to RULES_DIR, or the built-in pack's name."""
    p = Path(path)
    if rules_dir is not None:
        try:
            return str(p.resolve().relative_to(rules_dir.resolve()))
        except ValueError:
            pass
    return f"built-in: {p.name}" if rules_dir is None else str(p)


def effective_state(
    rule: Any, override: dict[str, bool], global_dry: bool
) -> tuple[bool, bool, bool, str | None]:
    """(enabled, the rule's own dry run, dry run in effect, why) — decided by the engine's own rule.

    Overrides win over the file both ways; the global dry run sits on top and nothing
    on this page can lift it.
    """
    enabled, own_dry = engine_effective(
        rule, EvalContext(overrides={rule.name: override} if override else {})
    )
    if own_dry:
        return enabled, True, True, "override" if "dry_run" in override else "rule file"
    return enabled, False, global_dry, "global" if global_dry else None


def rule_rows() -> list[RuleRow]:
    svc = services()
    rules = svc.rules.current().rules
    overrides = svc.store.overrides.all()
    stats = rule_stats(svc.store, [r.name for r in rules], now() - HITS_WINDOW)
    global_dry = svc.settings.dry_run_requested
    rows = []
    for rule in rules:
        override = overrides.get(rule.name, {})
        enabled, own_dry, dry, why = effective_state(rule, override, global_dry)
        rows.append(
            RuleRow(
                rule,
                source_label(rule.source, svc.settings.rules_dir),
                override,
                enabled,
                own_dry,
                dry,
                why,
                stats[rule.name],
            )
        )
    return rows


@blueprint.get("/rules")
@login_required
def index() -> ResponseReturnValue:
    svc = services()
    return render_template(
        "admin/rules.html",
        rows=rule_rows(),
        global_dry=svc.settings.dry_run_requested,
        load_error=svc.rules.last_error,
        now=now(),
    )


@blueprint.get("/rules.json")
@login_required
def as_json() -> ResponseReturnValue:
    return jsonify(
        [
            {
                "name": r.rule.name,
                "description": r.rule.description,
                "source": r.source,
                "line": r.rule.line,
                "triggers": sorted(r.rule.triggers),
                "trackers": sorted(t.value for t in r.rule.trackers),
                "teams": sorted(r.rule.teams),
                "schedule": _schedule(r.rule.schedule),
                "file": {"enabled": r.rule.enabled, "dry_run": r.rule.dry_run},
                "override": r.override,
                "enabled": r.enabled,
                "dry_run": r.dry_run,
                "hits_7d": r.stats.hits,
                "last_run": r.stats.last_run.isoformat() if r.stats.last_run else None,
            }
            for r in rule_rows()
        ]
    )


def _schedule(schedule: Any) -> str | None:
    if schedule is None:
        return None
    if isinstance(schedule, timedelta):
        return f"every {int(schedule.total_seconds() // 60)} min"
    return str(schedule)


@blueprint.post("/rules/<name>/override")
@login_required
def override(name: str) -> ResponseReturnValue:
    """Set one toggle (`enabled` or `dry_run` to 1/0), or `reset` to go back to the file."""
    svc = services()
    if svc.rules.rule(name) is None:
        abort(404, description=f"There is no rule named {name!r} in the running rule set.")
    if request.form.get("reset"):
        svc.store.overrides.clear(name)
        log.info("admin.override.cleared", extra={"rule": name})
        record_admin_action("override", f"rule {name}: overrides cleared, back to its file", rule=name)
        flash(f"{name}: back to what its rule file says.", "ok")
        return redirect(url_for("admin_rules.index", _anchor=f"rule-{name}"))
    field = request.form.get("field", "")
    value = request.form.get("value", "")
    if field not in ("enabled", "dry_run") or value not in ("0", "1"):
        abort(400, description="Choose a toggle (enabled or dry_run) and a value (0 or 1).")
    svc.store.overrides.set(name, now(), **{field: value == "1"})
    log.info("admin.override.set", extra={"rule": name, "field": field, "value": value == "1"})
    record_admin_action("override", f"rule {name}: {field} set to {value == '1'}", rule=name, field=field,
                        value=value == "1")
    flash(f"{name}: {_said(field, value == '1')} — from the next event on.", "ok")
    return redirect(url_for("admin_rules.index", _anchor=f"rule-{name}"))


def _said(field: str, value: bool) -> str:
    if field == "enabled":
        return "enabled" if value else "disabled"
    return "dry run (decisions recorded as “would do”)" if value else "live (unless the global dry run is on)"
