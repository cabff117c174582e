"""Deliver digests: a tracker comment through the executor, or a file / webhook on the allowlist.

Every delivery is dry-run aware and recorded in the audit log; a claim per (digest,
period, target) makes a re-run of the schedule or two workers racing post once.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests
from croniter import croniter

from integration.executor import ApplyContext, apply
from integration.judge.dryrun import DryRun
from integration.reports.digest import digest_figures, digest_markdown
from integration.reports.digest_config import (
    Allowlist,
    DigestConfigError,
    DigestSpec,
    check_targets,
    load_digests,
)
from integration.reports.scope import RuleCatalog
from integration.reports.sources import project_targets
from integration.store.audit import AuditEntry, Outcome
from integration.store.claims import ClaimResult
from integration.store.flags import DIGEST_PREFIX
from integration.trackers.base import TrackerError
from rules.model import Action, ActionKind, CommentBody, EpisodeChange, EpisodeTransition, Plan, Text

DUE_GRACE = timedelta(hours=6)  # a schedule tick missed by less than this is still delivered
WEBHOOK_TIMEOUT = 10
Post = Callable[..., Any]


@dataclass(frozen=True)
class Delivery:
    digest: str
    kind: str
    target: str
    outcome: Outcome
    reason: str

    def line(self) -> str:
        return f"{self.digest} → {self.kind} {self.target}: {self.outcome.value} — {self.reason}"


def period_of(moment: datetime) -> int:
    """The digest's episode number: minutes since 1970 of its scheduled time (one post per tick)."""
    return int(moment.timestamp() // 60)


def render_digest(services: Any, spec: DigestSpec, catalog: RuleCatalog, now: datetime) -> str:
    targets = project_targets(services.store)
    with services.store.engine.connect() as conn:
        return digest_markdown(digest_figures(conn, spec, catalog, now, targets))


def deliver(services: Any, spec: DigestSpec, text: str, now: datetime, period: int, *, allow: Allowlist,
            dry_run: bool = False, post: Post = requests.post) -> list[Delivery]:
    """Send one digest to each of its targets."""
    out = []
    for kind, target in spec.targets:
        if kind == "comment":
            out.append(_comment(services, spec, text, now, period, dry_run))
        else:
            out.append(_outside(services, spec, kind, target, text, now, period, allow, dry_run, post))
    return out


def _comment(services: Any, spec: DigestSpec, text: str, now: datetime, period: int,
             dry_run: bool) -> Delivery:
    tracker, key = spec.tracker or "", spec.comment_on or ""
    client = services.clients.get(tracker)
    item = None
    try:
        item = client.get_item(key) if client is not None else None
    except TrackerError as error:
        return _failed(services, spec, "comment", key, now, f"could not read {key}: {error}")
    item = item or services.store.mirror.get_by_key(tracker, key)
    if item is None:
        return _failed(services, spec, "comment", key, now, f"{tracker} issue {key} not found")
    rule = f"{DIGEST_PREFIX}{spec.name}"
    action = Action(ActionKind.COMMENT, rule=rule, reason=f"weekly digest for {spec.name}", episode=period,
                    step="0", comment=CommentBody((Text(text),)))
    closed = EpisodeTransition(rule, EpisodeChange.CLOSE, period)  # a digest never leaves its issue "flagged"
    dry = DryRun.ruleless(dry_run or services.settings.dry_run_for(tracker), writable=client is not None)
    ctx = ApplyContext(store=services.store, client=client, dry=dry, now=now)
    entry = apply(Plan(item, (action,), (closed,)), ctx).entries[0]
    return Delivery(spec.name, "comment", key, entry.outcome, entry.reason)


def _failed(services: Any, spec: DigestSpec, kind: str, target: str, now: datetime, reason: str) -> Delivery:
    _audit(services, spec, kind, target, now, Outcome.FAILED, reason)
    return Delivery(spec.name, kind, target, Outcome.FAILED, reason)


def _audit(services: Any, spec: DigestSpec, kind: str, target: str, now: datetime, outcome: Outcome,
           reason: str) -> None:
    entry = AuditEntry(at=now, tracker=spec.tracker or "flowkeeper", action=f"digest_{kind}", outcome=outcome,
                       reason=reason, rule=f"{DIGEST_PREFIX}{spec.name}", detail={"target": target})
    services.store.audit.record([entry])


def file_path(template: str, team: str, now: datetime) -> Path:
    """`{team}` and `{date}` are filled in; the team key is reduced to safe characters."""
    safe_team = re.sub(r"[^A-Za-z0-9_-]", "_", team)
    return Path(template.replace("{team}", safe_team).replace("{date}", now.date().isoformat()))


def _outside(services: Any, spec: DigestSpec, kind: str, target: str, text: str, now: datetime, period: int,
             allow: Allowlist, dry_run: bool, post: Post) -> Delivery:
    path = file_path(target, spec.team, now) if kind == "file" else None
    allowed = allow.allows_file(path) if path is not None else allow.allows_url(target)
    shown = str(path) if path is not None else target
    if not allowed:
        reason = f"{shown} is not on FLOWKEEPER_DIGEST_ALLOW: not sent"
        return _failed(services, spec, kind, shown, now, reason)
    if dry_run or services.settings.dry_run_requested:
        reason = f"dry run: would {'write' if path else 'post'} the digest to {shown}"
        _audit(services, spec, kind, shown, now, Outcome.WOULD_DO, reason)
        return Delivery(spec.name, kind, shown, Outcome.WOULD_DO, reason)
    claims, identity = services.store.claims, f"{period}/{kind}/{shown}"[:255]
    claim = claims.claim("digest", spec.name, identity, now)
    if claim is not ClaimResult.CLAIMED:
        done = claim is ClaimResult.ALREADY_DONE
        reason = "already delivered for this period" if done else "being delivered now"
        return Delivery(spec.name, kind, shown, Outcome.SKIPPED, reason)
    try:
        _write_file(path, text) if path is not None else _post(post, target, spec, text, now)
    except (OSError, requests.RequestException, DeliveryError) as error:
        claims.finish("digest", spec.name, identity, ok=False, now=now)
        return _failed(services, spec, kind, shown, now, f"{type(error).__name__}: {error}")
    claims.finish("digest", spec.name, identity, ok=True, now=now)
    reason = f"{'wrote' if path else 'posted'} the digest to {shown}"
    _audit(services, spec, kind, shown, now, Outcome.DONE, reason)
    return Delivery(spec.name, kind, shown, Outcome.DONE, reason)


class DeliveryError(Exception):
    """The webhook answered with something other than success."""


def _write_file(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text, encoding="utf-8")
    partial.replace(path)


def _post(post: Post, url: str, spec: DigestSpec, text: str, now: datetime) -> None:
    """Redirects are not followed: they could lead off the allowlist."""
    body = {"text": text, "team": spec.team, "tracker": spec.tracker, "at": now.isoformat()}
    response = post(url, json=body, timeout=WEBHOOK_TIMEOUT, allow_redirects=False)
    if not 200 <= response.status_code < 300:
        raise DeliveryError(f"HTTP {response.status_code}")


def due_tick(spec: DigestSpec, now: datetime) -> datetime | None:
    """The schedule tick to deliver now, if the last one was less than DUE_GRACE ago."""
    tick: datetime = croniter(spec.schedule, now).get_prev(datetime)
    return tick if now - tick <= DUE_GRACE else None


def run_due(services: Any, now: datetime, specs: Iterable[DigestSpec], allow: Allowlist,
            catalog: RuleCatalog, *, dry_run: bool = False, post: Post = requests.post) -> list[Delivery]:
    """What the clock calls (e.g. hourly): each digest whose schedule ticked recently, once per tick."""
    out: list[Delivery] = []
    for spec in specs:
        tick = due_tick(spec, now)
        if tick is not None:
            text = render_digest(services, spec, catalog, tick)
            out += deliver(services, spec, text, now, period_of(tick), allow=allow, dry_run=dry_run,
                           post=post)
    return out


def run_digest_command(settings: Any, args: argparse.Namespace) -> int:
    """`flowkeeper digest`: print each digest, or with --post deliver it."""
    from integration.reports.sources import catalog_from_rules_dir
    from integration.services import build_services

    try:
        specs = load_digests(args.config or settings.digests.file)
        allow = settings.digests.allow
    except DigestConfigError as error:
        print(f"flowkeeper digest: {error}", file=sys.stderr)
        return 2
    if args.team:
        known = {s.team for s in specs}
        specs = tuple(s for s in specs if s.team in args.team) + tuple(DigestSpec(t) for t in args.team
                                                                      if t not in known)
    if not specs:
        print("flowkeeper digest: no digests configured: set FLOWKEEPER_DIGESTS or pass --team",
              file=sys.stderr)
        return 2
    services = build_services(settings)
    catalog, now = catalog_from_rules_dir(settings.rules_dir), datetime.now(UTC)
    if args.post and args.due:
        deliveries = run_due(services, now, specs, allow, catalog, dry_run=args.dry_run)
    elif args.post:
        deliveries = []
        for spec in specs:
            text = render_digest(services, spec, catalog, now)
            deliveries += deliver(services, spec, text, now, period_of(now), allow=allow,
                                  dry_run=args.dry_run)
    else:
        for spec in specs:
            print(render_digest(services, spec, catalog, now))
        return 0
    problems = [p for s in specs for p in check_targets(s, allow)]
    for line in [*(d.line() for d in deliveries), *problems]:
        print(line)
    return 1 if any(d.outcome is Outcome.FAILED for d in deliveries) else 0
