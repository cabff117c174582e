"""A small world for sweep tests: the stub tracker behind `responses`, real services, a clock.

`World` wires Flowkeeper exactly as a process does (`build_services`), but with the
tracker clients pointed at the stub's site, and with one clock shared by the sweeps, the
webhook pipeline and the stub (whose writes stamp `updated`). Webhook bodies go through
the real normalizers and `Pipeline.handle`, as a worker would run them.
"""

from __future__ import annotations

import textwrap
import uuid
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import responses

from integration.pipeline import Pipeline
from integration.services import Services, build_services
from integration.settings import load_settings
from integration.settings_sweeps import SweepSettings
from integration.store.sweep_runs import Run
from integration.stubtracker.app import create_stub_app
from integration.stubtracker.site import Account, Issue, Site
from integration.stubtracker.state import StubState
from integration.sweeps.dispatch import run_inline
from integration.sweeps.sweep import Sweeper
from integration.trackers.jira.client import JiraClient
from integration.trackers.jira.normalize import JiraConfig
from integration.trackers.jira.normalize import normalize as normalize_jira
from integration.trackers.linear.client import LinearClient
from integration.trackers.linear.event import normalize as normalize_linear
from integration.trackers.linear.item import LinearConfig
from integration.trackers.retry import RetryPolicy
from tests.stub import ADA, JIRA_BASE, LINEAR_URL, serve
from tests.sweeps import deliveries

NO_RETRY = RetryPolicy(tries=1)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def write_rules(folder: Path, body: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "rules.yml").write_text(textwrap.dedent(body).lstrip(), encoding="utf-8")
    return folder


def stalled_rules(*lines: str) -> str:
    """The rule file most sweep tests run: `stalled` flags 5 business days without activity; `lines` go after `on`."""
    extra = "".join(f"    {line}\n" for line in lines)
    return ("\nversion: 1\nrules:\n  - name: stalled\n"
            "    description: In progress for 5 business days without human activity gets a label and a comment.\n"
            f"    on: [schedule]\n{extra}    when:\n      all:\n        - status.category: in_progress\n"
            "        - last_activity: { older_than: 5 business days }\n"
            "    then:\n      - flag: { label: stalled, comment: \"{{ key }} has stalled.\" }\n")


def add_stalled(world: World, count: int, title: str = "Fix the thing") -> None:
    """ENG-1 … ENG-`count`: in progress, Ada's, untouched for 30 days (`title` may name `{n}`)."""
    when = world.clock.now - timedelta(days=30)
    for n in range(1, count + 1):
        world.site.add(Issue(id=str(n), key=f"ENG-{n}", team="ENG", status="In Progress", category="in_progress",
                             updated=when, created=when, assignee=ADA, title=title.format(n=n)))


def jira_client(wall_clock: Clock | None = None, bots: frozenset[str] = frozenset(),
                held_by: Clock | None = None) -> JiraClient:
    """A Jira client on the stub; `wall_clock` (the world's) dates a follow-up's relative JQL bound,
    `held_by` (the world's too, when given) times the holds Jira's rate limits ask for."""
    return JiraClient(JIRA_BASE, "flowkeeper@example.com", "jira-token", config=JiraConfig(site_url=JIRA_BASE),
                      retry=NO_RETRY, sleep=lambda _s: None, write_interval=0, bot_accounts=bots,
                      **({"wall_clock": wall_clock} if wall_clock else {}),
                      **({"clock": lambda: held_by().timestamp()} if held_by else {}))


def linear_client(bots: frozenset[str] = frozenset()) -> LinearClient:
    return LinearClient(LINEAR_URL, "lin_api_key", config=LinearConfig(), retry=NO_RETRY, sleep=lambda _s: None,
                        bot_accounts=bots)


class World:
    def __init__(self, tracker: str, db_url: str, rules_dir: Path, now: datetime, mock: responses.RequestsMock,
                 *, redis_url: str | None = None, dry_run: bool = False, settings: SweepSettings | None = None,
                 env: dict[str, str] | None = None, jira_holds_on_world_time: bool = False) -> None:
        self.tracker = tracker
        self.clock = Clock(now)
        self.state = StubState(now=now)
        self.site = Site(self.state, tracker, JIRA_BASE)
        serve(create_stub_app(self.state), mock)
        self.sweep_settings = settings or SweepSettings()
        env = {"DATABASE_URL": db_url, "RULES_DIR": str(rules_dir), "FLOWKEEPER_DRY_RUN": "1" if dry_run else "0",
               "JIRA_URL": JIRA_BASE, "JIRA_USER": "flowkeeper@example.com", "JIRA_API_TOKEN": "jira-token",
               "LINEAR_API_KEY": "lin_api_key", **(env or {})}
        if redis_url:
            env["REDIS_URL"] = redis_url
        settings = replace(load_settings(env), sweeps=self.sweep_settings)
        bots = settings.activity.bot_accounts  # FLOWKEEPER_BOT_ACCOUNTS, as make_clients passes it
        clients: dict[str, Any] = ({"jira": jira_client(self.clock, bots, self.clock if jira_holds_on_world_time else None)} if tracker == "jira"
                                   else {"linear": linear_client(bots)})
        self.services: Services = build_services(settings, clients=clients)

    # ---- time ----------------------------------------------------------------------------
    def at(self, moment: datetime) -> None:
        self.clock.now = moment
        self.site.now = moment

    def later(self, **delta: float) -> None:
        self.at(self.clock.now + timedelta(**delta))

    # ---- Flowkeeper's two ways in ----------------------------------------------------------
    def sweeper(self, kind: type[Sweeper] = Sweeper, **options: Any) -> Sweeper:
        return kind(self.services, self.sweep_settings, clock=self.clock, **options)

    def sweep(self, rule: str, force: bool = True, kind: type[Sweeper] = Sweeper, **options: Any) -> Run | None:
        """Run one sweep to its end in this process; the run, or None when it did not start."""
        sweeper = self.sweeper(kind, **options)
        started = sweeper.start(rule, self.tracker, "manual", force=force)
        if started.run_id is None:
            self.last_refusal = started.message
            return None
        run_inline(sweeper, started.next, sleep=lambda _s: None)
        return self.services.store.sweep_runs.get(started.run_id)

    def pipeline(self) -> Pipeline:
        ruleset = self.services.rules
        return replace(self.services.pipeline(), clock=self.clock,
                       rule_names=lambda: [r.name for r in ruleset.current().rules])

    def deliver(self, payload: dict[str, Any]) -> str:
        """A webhook delivery, through the real normalizer and pipeline."""
        if self.tracker == "jira":
            event = normalize_jira(payload, JiraConfig(site_url=JIRA_BASE))
        else:
            event = normalize_linear(payload, LinearConfig())
        assert event is not None
        return self.pipeline().handle(replace(event, delivery_id=str(uuid.uuid4())))

    # ---- what people do, and the webhook the tracker sends for it --------------------------
    def moved(self, key: str, status: str, category: str, actor: Account) -> str:
        return self.deliver(deliveries.status_changed(self.site, key, status, category, actor))

    def commented(self, key: str, author: Account, text: str) -> str:
        return self.deliver(deliveries.commented(self.site, key, author, text))

    def edited(self, key: str, author: Account, comment_id: str, text: str) -> str:
        """A person edits their comment: the tracker's comment-updated delivery."""
        return self.deliver(deliveries.edited(self.site, key, author, comment_id, text))

    def own_writes_echo(self, key: str, old_labels: list[str]) -> str:
        """The webhook a tracker sends after Flowkeeper's own label write (loop protection)."""
        return self.deliver(deliveries.labels_changed(self.site, key, old_labels, self.site.service))
