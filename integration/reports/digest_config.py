"""Where each team's digest goes, and the operator's allowlist for anything outside the trackers.

The digest file (`FLOWKEEPER_DIGESTS`, YAML) is kept with the rules by Product Ops; the
allowlist (`FLOWKEEPER_DIGEST_ALLOW`: comma-separated URL prefixes and folders) is set by
the operator, so a rule-file change can never send data to a new place.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from croniter import croniter

from integration.settings_digests import Allowlist, DigestConfigError

DEFAULT_SCHEDULE = "0 8 * * 1"  # Mondays 08:00 UTC
TRACKERS = ("jira", "linear")


@dataclass(frozen=True)
class DigestSpec:
    team: str
    tracker: str | None = None
    schedule: str = DEFAULT_SCHEDULE
    wip_limit: int | None = None
    comment_on: str | None = None
    file: str | None = None
    webhook: str | None = None

    @property
    def name(self) -> str:
        return f"{self.tracker}:{self.team}" if self.tracker else self.team

    @property
    def targets(self) -> list[tuple[str, str]]:
        pairs = (("comment", self.comment_on), ("file", self.file), ("webhook", self.webhook))
        return [(kind, value) for kind, value in pairs if value]


def _spec(n: int, raw: Any) -> DigestSpec:
    where = f"digests[{n}]"
    if not isinstance(raw, Mapping) or not isinstance(raw.get("team"), str) or not raw["team"].strip():
        raise DigestConfigError(f"{where}: each digest needs a 'team' (a Jira project or Linear team key)")
    unknown = set(raw) - {"team", "tracker", "schedule", "wip_limit", "post"}
    if unknown:
        raise DigestConfigError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    tracker = raw.get("tracker")
    if tracker is not None and tracker not in TRACKERS:
        raise DigestConfigError(f"{where}.tracker: one of jira, linear (got {tracker!r})")
    schedule = str(raw.get("schedule") or DEFAULT_SCHEDULE)
    if not croniter.is_valid(schedule):
        raise DigestConfigError(f"{where}.schedule: not a cron expression: {schedule!r}")
    limit = raw.get("wip_limit")
    if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool) or limit < 1):
        raise DigestConfigError(f"{where}.wip_limit: a whole number of items per person (got {limit!r})")
    post = raw.get("post") or {}
    if not isinstance(post, Mapping) or set(post) - {"comment_on", "file", "webhook"}:
        raise DigestConfigError(f"{where}.post: any of comment_on (an issue key), file, webhook")
    if post.get("comment_on") and tracker is None:
        raise DigestConfigError(f"{where}: comment_on needs the digest's 'tracker'")
    return DigestSpec(raw["team"].strip(), tracker, schedule, limit, post.get("comment_on"), post.get("file"),
                      post.get("webhook"))


def parse_digests(text: str, source: str = "digests") -> tuple[DigestSpec, ...]:
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as error:
        raise DigestConfigError(f"{source}: not valid YAML: {error}") from None
    if not isinstance(data, Mapping) or not isinstance(data.get("digests", []), list):
        raise DigestConfigError(f"{source}: expected a mapping with a 'digests' list")
    specs = tuple(_spec(n, raw) for n, raw in enumerate(data.get("digests") or []))
    names = [s.name for s in specs]
    if len(set(names)) != len(names):
        raise DigestConfigError(f"{source}: a team is listed twice for the same tracker")
    return specs


def load_digests(path: str | Path | None) -> tuple[DigestSpec, ...]:
    if not path:
        return ()
    file = Path(path)
    if not file.is_file():
        raise DigestConfigError(f"FLOWKEEPER_DIGESTS: {file} is not a file")
    return parse_digests(file.read_text(encoding="utf-8"), str(file))


def check_targets(spec: DigestSpec, allow: Allowlist) -> list[str]:
    """Problems with a digest's file/webhook targets under the allowlist (empty when all is well)."""
    problems = []
    if spec.webhook and not allow.allows_url(spec.webhook):
        problems.append(f"webhook {spec.webhook} is not on FLOWKEEPER_DIGEST_ALLOW")
    if spec.file and not allow.allows_file(Path(spec.file.format(team=spec.team, date="date"))):
        problems.append(f"file {spec.file} is not inside a folder on FLOWKEEPER_DIGEST_ALLOW")
    return problems
