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

from croniter import croniter

from integration.reports.digest_schema import DEFAULT_SCHEDULE, dotted, schema_problems
from integration.settings_digests import Allowlist, DigestConfigError
from rules.yamlpos import Doc, YamlProblem, load_yaml


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


def _spec(doc: Doc, n: int, raw: Mapping[str, Any], source: str) -> DigestSpec:
    """One entry the schema accepted; what a schema cannot say is checked here, with its line."""
    def problem(path: tuple[Any, ...], text: str) -> DigestConfigError:
        line, col = doc.where(("digests", n, *path))
        return DigestConfigError(f"{source}:{line}:{col}: {dotted(('digests', n, *path))}: {text}")

    tracker, post = raw.get("tracker"), raw.get("post") or {}
    schedule = str(raw.get("schedule") or DEFAULT_SCHEDULE)
    if not croniter.is_valid(schedule):
        raise problem(("schedule",), f"not a cron expression: {schedule!r}")
    if post.get("comment_on") and tracker is None:
        raise problem(("post", "comment_on"), "comment_on needs the digest's 'tracker'")
    return DigestSpec(raw["team"].strip(), tracker, schedule, raw.get("wip_limit"), post.get("comment_on"),
                      post.get("file"), post.get("webhook"))


def parse_digests(text: str, source: str = "digests") -> tuple[DigestSpec, ...]:
    """Read a digest file; DigestConfigError lists every problem as 'file:line:col: where: what'."""
    try:
        doc = load_yaml(text)
    except YamlProblem as error:
        raise DigestConfigError(f"{source}:{error.line}:{error.col}: {error.message}") from None
    if doc.data is None:
        return ()
    problems = schema_problems(doc, source)
    if problems:
        raise DigestConfigError("\n".join(problems))
    entries = doc.data.get("digests") or []
    specs = tuple(_spec(doc, n, raw, source) for n, raw in enumerate(entries))
    seen: set[str] = set()
    for n, spec in enumerate(specs):
        if spec.name in seen:
            line, col = doc.where(("digests", n))
            raise DigestConfigError(f"{source}:{line}:{col}: digests[{n}]: the team {spec.name} is listed twice "
                                    "for the same tracker")
        seen.add(spec.name)
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
