"""One count of "flagged now": the Flagged page, the Reports page and the weekly digest agree on one dataset."""

from __future__ import annotations

from flask import Flask

from integration.reports.digest_config import DigestSpec
from integration.reports.digest_run import render_digest
from integration.reports.scope import RuleCatalog
from rules.model import EpisodeChange, EpisodeTransition
from tests.reports.builder import Builder, day
from tests.reports.pageapp import log_in, report_app

NOW = day(14)


def flag_dataset(b: Builder) -> None:
    """Built-in rules: two stalled-work rules, a scheduled rule that is not about stalling, one on events."""
    eng1 = b.item("ENG-1", 0, [(2, "In Progress")], assignee="ann")
    eng2 = b.item("ENG-2", 0, [(3, "In Progress")], assignee="ann")
    eng3 = b.item("ENG-3", 0, [(4, "In Review")], assignee="bob")
    eng4 = b.item("ENG-4", 0, type="Bug")
    gone = b.item("ENG-5", 0, [(2, "In Progress")])
    web1 = b.item("WEB-1", 0, [(2, "In Progress")], team="WEB")
    board = b.item("ENG-100", -30, title="Weekly digests")
    b.episode(eng1, "stalled-in-progress", 9)
    b.episode(eng1, "started-without-assignee", 3)
    b.episode(eng2, "stalled-in-progress", 10, mode="dry")
    b.episode(eng3, "stalled-in-review", 11)
    b.episode(eng4, "bug-without-priority", 12)  # swept on a schedule, but not stalled work
    b.episode(gone, "stalled-in-progress", 9)
    b.store.mirror.mark_deleted(gone, day(12))  # a deleted item is flagged no more
    b.episode(web1, "stalled-in-progress", 9)
    b.episode(board, "digest:ENG", 13)  # the digest's own bookkeeping is no flag
    b.store.rule_states.apply("jira", "id-ENG-404", "ENG-404", "live",  # flagged before the mirror knew it
                              [EpisodeTransition("stalled-in-progress", EpisodeChange.OPEN, 1)], [], day(13))


def test_flagged_page_reports_and_digest_count_the_same_flags(db_url: str) -> None:
    with report_app(db_url, NOW) as app:
        flag_dataset(Builder(app.extensions["flowkeeper"].services.store))
        admin = app.test_client()
        log_in(admin)

        def flagged(**query: str) -> int:
            return int(admin.get("/admin/flagged.json", query_string=query).json["total"])

        def reported(**query: str) -> dict[str, int]:
            rows = admin.get("/admin/reports/hygiene_rules.json", query_string=query).json["rows"]
            return {r["rule"]: r["flagged_live"] + r["flagged_dry"] for r in rows if r["flagged_live"] + r["flagged_dry"]}

        assert flagged() == sum(reported().values()) == 7  # ENG-1 twice, ENG-2, ENG-3, ENG-4, WEB-1, ENG-404
        assert flagged(team="ENG") == sum(reported(team="ENG").values()) == 5
        for rule, count in reported(team="ENG").items():
            assert flagged(team="ENG", rule=rule) == count, rule
        assert '<h1>Flagged items <span class="badge">7</span></h1>' in admin.get("/admin/flagged").get_data(as_text=True)

        digest = digest_text(app)
        stalled = {rule: reported(team="ENG").get(rule, 0) for rule in ("stalled-in-progress", "stalled-in-review")}
        assert f"**Stalled items: {sum(stalled.values())}**\n" in digest  # ENG-1, ENG-2, ENG-3 — not the bug
        assert "ENG-4" not in digest.split("**WIP")[0]
        for rule, count in reported(team="ENG").items():
            assert f"- {rule}: " in digest and f" · {count} flagged now" in digest.split(f"- {rule}: ")[1].split("\n")[0]


def digest_text(app: Flask) -> str:
    services = app.extensions["flowkeeper"].services
    catalog = RuleCatalog.from_ruleset(services.rules.current())
    assert catalog.stalled_rules == {"stalled-in-progress", "stalled-in-review"}
    return render_digest(services, DigestSpec("ENG", "jira"), catalog, NOW)
