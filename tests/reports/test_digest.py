"""The weekly digest: its figures and text, its configuration, and every way it is delivered."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import responses

from integration.reports.digest import digest_figures, digest_markdown
from integration.reports.digest_config import (
    Allowlist,
    DigestConfigError,
    DigestSpec,
    check_targets,
    parse_digests,
)
from integration.reports.digest_run import deliver, due_tick, period_of, render_digest, run_due
from integration.reports.scope import RuleCatalog
from integration.settings import load_settings
from integration.store.audit import AuditFilter, Outcome
from integration.store.store import Store
from integration.store.tables import rule_states
from integration.trackers.base import WriteMarker
from rules.model import CommentBody, Item, Tracker
from tests.reports.builder import Builder, day

CATALOG = RuleCatalog(stalled_rules=frozenset({"stalled"}), flag_labels={"stalled": ("stalled",)})
SPEC = DigestSpec("ENG", "jira", wip_limit=2, comment_on="ENG-100")
LIVE = {"FLOWKEEPER_DRY_RUN": "0", "JIRA_URL": "https://example.atlassian.net",
        "JIRA_USER": "bot@example.com", "JIRA_API_TOKEN": "token-123"}


class RecordingJira:
    """A tracker client that records comments; it finds a comment by its marker like the real ones do."""

    tracker = Tracker.JIRA

    def __init__(self, store: Store) -> None:
        self.store = store
        self.comments: list[tuple[str, str, str]] = []

    def get_item(self, key: str) -> Item:
        item = self.store.mirror.get_by_key("jira", key)
        assert item is not None
        return item

    def find_marked_comment(self, item: Item, marker: WriteMarker) -> str | None:
        return next((str(n) for n, c in enumerate(self.comments) if c[2] == marker.token), None)

    def add_comment(self, item: Item, body: CommentBody, marker: WriteMarker) -> str:
        self.comments.append((item.key, body.plain, marker.token))
        return str(len(self.comments))

    def add_labels(self, item: Item, labels: Sequence[str]) -> None:
        raise AssertionError("a digest never labels")

    remove_labels = add_labels


@pytest.fixture
def team(store: Store) -> Builder:
    b = Builder(store)
    s1 = b.item("ENG-1", 0, [(2, "In Progress")], assignee="ann", title="Fix *login* [urgent]")
    s2 = b.item("ENG-2", 0, [(3, "In Progress")], assignee="ann")
    s3 = b.item("ENG-3", 0, [(4, "In Review")], assignee="bob")
    b.item("ENG-4", 0, [(5, "In Progress")], assignee="ann")
    b.item("ENG-5", 0, [(8, "In Progress"), (10, "Done")])
    b.item("ENG-6", 0, [(9, "In Progress"), (13, "Done")])
    b.item("ENG-7", -5, [(0, "In Progress"), (5, "Done")])
    b.item("ENG-8", -6, [(-5, "In Progress"), (1, "Done")])
    b.item("ENG-100", -30, title="Weekly digests")
    for item, at in ((s1, 9), (s2, 11)):
        b.episode(item, "stalled", at)
        b.action(item, "stalled", at, "add_labels", labels=("stalled",))
    b.episode(s3, "needs-assignee", 12)
    b.action(s3, "needs-assignee", 12, "comment")
    return b


def test_digest_text(team: Builder) -> None:
    with team.store.engine.connect() as conn:
        text = digest_markdown(digest_figures(conn, SPEC, CATALOG, day(14)))
    assert text == (
        "**Flowkeeper weekly digest — jira:ENG** (2024-03-11 → 2024-03-18)\n"
        "\n"
        "**Stalled items: 2**\n"
        "- ENG-1 Fix \\*login\\* \\[urgent\\] — In Progress, flagged 5 d, Ann (stalled)\n"
        "- ENG-2 Item ENG-2 — In Progress, flagged 3 d, Ann (stalled)\n"
        "\n"
        "**WIP: 4 in progress** (limit 2 per person)\n"
        "- Ann: 3 — over the limit of 2\n"
        "- Bob: 1\n"
        "\n"
        "**Cycle time (p50):** 2 d this week vs 5 d over the 4 weeks before (faster); "
        "2 items done this week\n"
        "\n"
        "**Top rules firing** (flags opened this week · flagged now)\n"
        "- stalled: 2 opened · 2 flagged now\n"
        "- needs-assignee: 1 opened · 1 flagged now\n"
        "\n"
        "**Older than the team's 85th percentile cycle time (6 d): 4**\n"  # cycle times 2, 4, 5, 6 days
        "- ENG-1 Fix \\*login\\* \\[urgent\\] — In Progress, 12 d, Ann\n"
        "- ENG-2 Item ENG-2 — In Progress, 11 d, Ann\n"
        "- ENG-3 Item ENG-3 — In Review, 10 d, Bob\n"
        "- ENG-4 Item ENG-4 — In Progress, 9 d, Ann\n"
    )


def test_digest_names_the_epics_at_risk_from_the_forecast(store: Store) -> None:
    b = Builder(store)
    for n in range(35):  # one item done a day for five weeks: every forecast is exact
        b.item(f"ENG-H{n}", -21, [(n - 20.8, "In Progress"), (n - 20.5, "Done")])
    b.item("EPIC-1", 0, type="Epic", due=day(15))  # two days: 2024-03-18 and 19
    b.item("EPIC-2", 0, type="Epic", due=day(20))
    for n in range(3):
        b.item(f"ENG-A{n}", 0, project="Checkout", parent="EPIC-1")
        b.item(f"ENG-B{n}", 0, project="Billing", parent="EPIC-2")
    with store.engine.connect() as conn:
        text = digest_markdown(digest_figures(conn, SPEC, CATALOG, day(14)))
    assert ("**Epics at risk: 1 of 2 with a target date**\n"
            "- Checkout (EPIC-1): target 2024-03-19, 0% chance, 85% forecast 2024-03-20\n") in text


def test_without_a_rule_catalog_every_flag_is_listed(team: Builder) -> None:
    with team.store.engine.connect() as conn:
        text = digest_markdown(digest_figures(conn, DigestSpec("ENG"), RuleCatalog(), day(14)))
    assert "**Flagged items: 3**" in text and "(needs-assignee)" in text


def _services(store: Store, env: dict[str, str] | None = None, client: Any = None) -> SimpleNamespace:
    return SimpleNamespace(store=store, settings=load_settings(env or {}),
                           clients={"jira": client} if client is not None else {})


def test_comment_goes_through_the_executor_in_dry_run(team: Builder) -> None:
    jira = RecordingJira(team.store)
    services = _services(team.store, client=jira)
    [result] = deliver(services, SPEC, "hello", day(14), period_of(day(14)), allow=Allowlist())
    assert result.outcome is Outcome.WOULD_DO and jira.comments == []
    [entry] = team.store.audit.page(AuditFilter(rule="digest:jira:ENG"))
    assert (entry.item_key, entry.action, entry.outcome) == ("ENG-100", "comment", Outcome.WOULD_DO)


def test_live_comment_is_posted_once_per_period_and_flags_nothing(team: Builder) -> None:
    jira = RecordingJira(team.store)
    services = _services(team.store, LIVE, jira)
    text = render_digest(services, SPEC, CATALOG, day(14))
    first = deliver(services, SPEC, text, day(14), period_of(day(14)), allow=Allowlist())
    again = deliver(services, SPEC, text, day(14.01), period_of(day(14)), allow=Allowlist())
    assert [d.outcome for d in first + again] == [Outcome.DONE, Outcome.SKIPPED]
    assert [(key, body.startswith("**Flowkeeper weekly digest")) for key, body, _ in jira.comments] == [
        ("ENG-100", True)]
    with team.store.engine.connect() as conn:
        states = conn.execute(rule_states.select().where(rule_states.c.rule == "digest:jira:ENG")).all()
    assert [s.active for s in states] == [False]


def test_file_target_must_be_inside_an_allowed_folder(team: Builder, tmp_path: Path) -> None:
    allow = Allowlist.parse(str(tmp_path / "digests"))
    inside = DigestSpec("ENG", file=str(tmp_path / "digests" / "{team}-{date}.md"))
    outside = DigestSpec("ENG", file=str(tmp_path / "digests" / ".." / "elsewhere.md"))
    live = _services(team.store, LIVE)
    [done] = deliver(live, inside, "text", day(14), 1, allow=allow)
    assert done.outcome is Outcome.DONE
    assert (tmp_path / "digests" / "ENG-2024-03-18.md").read_text() == "text"
    [refused] = deliver(live, outside, "text", day(14), 1, allow=allow)
    assert refused.outcome is Outcome.FAILED and "not on FLOWKEEPER_DIGEST_ALLOW" in refused.reason
    assert not (tmp_path / "elsewhere.md").exists()
    dry_spec = DigestSpec("OPS", file=inside.file)
    [dry] = deliver(_services(team.store), dry_spec, "text", day(14), 1, allow=allow)
    assert dry.outcome is Outcome.WOULD_DO and not (tmp_path / "digests" / "OPS-2024-03-18.md").exists()


@responses.activate
def test_webhook_posts_once_and_reports_failures(team: Builder) -> None:
    allow = Allowlist.parse("https://hooks.example.com/flowkeeper/")
    ok = responses.post("https://hooks.example.com/flowkeeper/eng", status=200)
    responses.post("https://hooks.example.com/flowkeeper/broken", status=500)
    responses.post("https://hooks.example.com/flowkeeper/moved", status=302,
                   headers={"Location": "https://evil.example.net/"})
    live = _services(team.store, LIVE)
    spec = DigestSpec("ENG", webhook="https://hooks.example.com/flowkeeper/eng")
    outcomes = [deliver(live, spec, "text", day(14), 7, allow=allow)[0].outcome for _ in range(2)]
    assert outcomes == [Outcome.DONE, Outcome.SKIPPED] and ok.call_count == 1
    assert json.loads(ok.calls[0].request.body)["text"] == "text"
    for name in ("broken", "moved"):
        failed = DigestSpec("ENG", webhook=f"https://hooks.example.com/flowkeeper/{name}")
        [result] = deliver(live, failed, "text", day(14), 7, allow=allow)
        assert result.outcome is Outcome.FAILED and "HTTP" in result.reason
    off_list = DigestSpec("ENG", webhook="https://hooks.example.com/other")
    assert deliver(live, off_list, "text", day(14), 7, allow=allow)[0].outcome is Outcome.FAILED
    assert len(responses.calls) == 3


def test_allowlist_matches_scheme_host_and_path() -> None:
    allow = Allowlist.parse("https://hooks.example.com/fk/, /srv/digests")
    assert allow.allows_url("https://hooks.example.com/fk/team")
    assert not allow.allows_url("http://hooks.example.com/fk/team")
    assert not allow.allows_url("https://hooks.example.com.evil.net/fk/team")
    assert not allow.allows_url("https://user@hooks.example.com/fk/team")
    assert not allow.allows_url("https://hooks.example.com/fk/../admin")
    assert allow.allows_file(Path("/srv/digests/eng.md"))
    assert not allow.allows_file(Path("/srv/digests/../etc/passwd"))
    with pytest.raises(DigestConfigError, match="https:// prefixes or absolute folders"):
        Allowlist.parse("relative/folder")


@pytest.mark.parametrize(("text", "message"), [
    ("digests: [{tracker: jira}]", "digests.yml:1:11: digests[0]: missing 'team' (The team it covers: a Jira"),
    ("digests: [{team: ENG, tracker: github}]",
     "digests.yml:1:32: digests[0].tracker: must be one of jira, linear (got 'github')"),
    ("digests: [{team: ENG, schedule: 'every monday'}]",
     "digests.yml:1:33: digests[0].schedule: not a cron expression: 'every monday'"),
    ("digests: [{team: ENG, wip_limit: 0}]", "digests.yml:1:34: digests[0].wip_limit: must be at least 1 (got 0)"),
    ("digests: [{team: ENG, post: {comment_on: ENG-1}}]",
     "digests.yml:1:42: digests[0].post.comment_on: comment_on needs the digest's 'tracker'"),
    ("digests: [{team: ENG, post: {email: a@b.c}}]",
     "digests.yml:1:30: digests[0].post.email: unknown key 'email' (allowed: comment_on, file, webhook)"),
    ("digests: [{team: ENG, colour: red}]", "digests.yml:1:23: digests[0].colour: unknown key 'colour'"),
    ("digests: [{team: ENG}, {team: ENG}]", "digests.yml:1:24: digests[1]: the team ENG is listed twice"),
    ("digests:\n  - team: ENG\n    tracker: jra\n",
     "digests.yml:3:14: digests[0].tracker: must be one of jira, linear (got 'jra') (did you mean 'jira'?)"),
    ("digests:\n  - team: ENG\n    wip_limit: true\n",
     "digests.yml:3:16: digests[0].wip_limit: must be a whole number (got True)"),
    ("digests: [{team: ENG, wip_limit: 3}", "digests.yml:2:1: YAML syntax"),
])
def test_digest_file_errors_say_file_line_and_entry(text: str, message: str) -> None:
    with pytest.raises(DigestConfigError, match=re.escape(message)):
        parse_digests(text, "digests.yml")


def test_every_problem_of_a_digest_file_is_listed_at_once() -> None:
    with pytest.raises(DigestConfigError) as raised:
        parse_digests("digests:\n  - team: ENG\n    tracker: github\n  - colour: red\n", "d.yml")
    assert str(raised.value).splitlines() == [
        "d.yml:3:14: digests[0].tracker: must be one of jira, linear (got 'github')",
        "d.yml:4:5: digests[1].colour: unknown key 'colour' (allowed: team, tracker, schedule, wip_limit, post)",
        "d.yml:4:5: digests[1]: missing 'team' (The team it covers: a Jira project key or a Linear team key)",
    ]


def test_digest_file_and_targets() -> None:
    [spec] = parse_digests("digests:\n  - team: ENG\n    tracker: jira\n    post: {comment_on: ENG-1, "
                           "webhook: 'https://x.example.com/h'}\n")
    hook = "https://x.example.com/h"
    assert (spec.schedule, spec.targets) == ("0 8 * * 1", [("comment", "ENG-1"), ("webhook", hook)])
    assert check_targets(spec, Allowlist()) == [f"webhook {hook} is not on FLOWKEEPER_DIGEST_ALLOW"]


def test_schedule_ticks_are_delivered_once(team: Builder, tmp_path: Path) -> None:
    spec = DigestSpec("ENG", schedule="0 8 * * 1", file=str(tmp_path / "{team}-{date}.md"))
    assert due_tick(spec, day(0).replace(hour=9)) == day(0).replace(hour=8)
    assert due_tick(spec, day(1)) is None  # Tuesday 00:00: the Monday tick is 16 h old
    live, allow = _services(team.store, LIVE), Allowlist.parse(str(tmp_path))
    at = day(14).replace(hour=8, minute=30)
    first = run_due(live, at, [spec], allow, CATALOG)
    second = run_due(live, at.replace(hour=9), [spec], allow, CATALOG)
    assert [d.outcome for d in first + second] == [Outcome.DONE, Outcome.SKIPPED]
    assert "**Stalled items: 2**" in (tmp_path / "ENG-2024-03-18.md").read_text()
