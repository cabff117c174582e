"""Run the sandbox: stub tracker, seeded workspace, a sync, a sweep of every rule, the admin page.

Flowkeeper's tracker settings are replaced, not added to: the only tracker it can reach
is the stub on a loopback port, so turning dry run off here writes nowhere real. The
database is a scratch SQLite file under `var/demo/`, never the service's own.
"""

from __future__ import annotations

import logging
import re
import shutil
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests
from werkzeug.serving import BaseWSGIServer, make_server

from integration.demo.workspace import jira_status_change, jira_workspace, linear_workspace
from integration.services import Services, build_services
from integration.settings import load_settings
from integration.store.migrate import upgrade
from integration.stubtracker.app import create_stub_app
from rules.loader import PACKS

ADMIN_PASSWORD = "demo"
MARKER = ".flowkeeper-demo"  # only a folder carrying it is ever wiped


class SandboxError(Exception):
    """The sandbox cannot start as asked; the message says why."""


@dataclass
class Sandbox:
    stub_url: str
    admin_url: str | None
    services: Services
    servers: list[BaseWSGIServer]

    def stop(self) -> None:
        for server in self.servers:
            server.shutdown()
        self.services.store.engine.dispose()


def _serve(app: Any, host: str, port: int) -> BaseWSGIServer:
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # a line per request would bury the summary
    server = make_server(host, port, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def live_rules(folder: Path) -> Path:
    """The built-in packs with their `dry_run: true` default lifted: in the sandbox they write (to the stub)."""
    folder.mkdir(parents=True, exist_ok=True)
    for pack in sorted(PACKS.glob("*.yml")):
        text = re.sub(r"(?m)^(\s*)dry_run: true$", r"\1dry_run: false", pack.read_text())
        (folder / pack.name).write_text(text)
    return folder


def sandbox_env(stub_url: str, home: Path) -> dict[str, str]:
    """Every setting the sandbox needs: trackers = the stub, dry run off, scratch database."""
    return {
        "DATABASE_URL": f"sqlite:///{home / 'flowkeeper.sqlite'}",
        "RULES_DIR": str(home / "rules"),
        "JIRA_URL": stub_url, "JIRA_USER": "flowkeeper@demo.test", "JIRA_API_TOKEN": "demo-token",
        "JIRA_STORY_POINTS_FIELD": "customfield_10016",
        "LINEAR_API_KEY": "lin_api_demo", "LINEAR_API_URL": f"{stub_url}/graphql",
        "LINEAR_ORGANIZATION_ID": "demo-org",
        "FLOWKEEPER_DRY_RUN": "0", "ADMIN_PASSWORD": ADMIN_PASSWORD, "SECRET_KEY": "demo-secret-key",
    }


def seed(stub_url: str, now: datetime) -> None:
    jira = jira_workspace(now)
    users = {i["fields"][who]["accountId"]: i["fields"][who] for i in jira for who in ("assignee", "reporter")
             if i["fields"][who]}
    for path, body in (("jira/users", list(users.values())), ("jira/issues", jira),
                       ("linear/issues", linear_workspace(now))):
        requests.post(f"{stub_url}/_stub/{path}", json=body, timeout=10).raise_for_status()


def start(home: Path, *, host: str = "127.0.0.1", stub_port: int = 0, admin_port: int | None = 0,
          say: Callable[[str], None] = print) -> Sandbox:
    """Everything up to "where to look"; the caller keeps it running or stops it."""
    if home.exists() and any(home.iterdir()):
        if not (home / MARKER).exists():
            raise SandboxError(f"{home} is not empty and was not made by `flowkeeper demo`: choose another --home")
        shutil.rmtree(home)  # each run starts from the same seeded workspace
    home.mkdir(parents=True, exist_ok=True)
    (home / MARKER).write_text("made by `flowkeeper demo`: wiped and rebuilt on each run\n")
    stub = _serve(create_stub_app(), host, stub_port)
    stub_url = f"http://{host}:{stub.server_port}"
    now = datetime.now(UTC)
    seed(stub_url, now)
    say(f"stub tracker on {stub_url}: Jira projects OPS, WEB; Linear teams APP, DATA")
    live_rules(home / "rules")
    settings = load_settings(sandbox_env(stub_url, home))
    upgrade(settings.database_url)
    services = build_services(settings)
    _sync(services, say)
    _wip_event(services, stub_url, now, say)
    _sweep_all(services, say)
    servers = [stub]
    admin_url = None
    if admin_port is not None:
        from integration.app import create_app

        admin = _serve(create_app(services=services), host, admin_port)
        servers.append(admin)
        admin_url = f"http://{host}:{admin.server_port}/admin"
    return Sandbox(stub_url=stub_url, admin_url=admin_url, services=services, servers=servers)


def _sync(services: Services, say: Callable[[str], None]) -> None:
    from integration.sweeps.sync import sync

    for tracker in ("jira", "linear"):
        say(f"sync {tracker}: {sync(services, tracker).describe()}")


def _wip_event(services: Services, stub_url: str, now: datetime, say: Callable[[str], None]) -> None:
    """Ada starts a fifth item: the status change a webhook would bring, through the live pipeline."""
    issue = requests.get(f"{stub_url}/rest/api/3/issue/WEB-1", timeout=10).json()
    event = services.intake.normalize("jira", jira_status_change(issue, old="To Do", who="ada", at=now))
    if event is not None:
        outcome = services.pipeline().handle(replace(event, delivery_id=f"demo-{uuid.uuid4()}"))
        say(f"webhook: Ada moved WEB-1 to In Progress → {outcome}")


def _sweep_all(services: Services, say: Callable[[str], None]) -> None:
    from integration.sweeps.dispatch import run_inline
    from integration.sweeps.schedule import sweep_targets
    from integration.sweeps.sweep import Sweeper

    ruleset = services.rules.current()
    for target in sweep_targets(ruleset, set(services.clients), services.settings.sweeps):
        sweeper = Sweeper(services)
        started = sweeper.start(target.rule, target.tracker, "demo", force=True)
        if started.run_id is None:
            say(f"sweep {target.rule} on {target.tracker}: {started.message}")
            continue
        run_inline(sweeper, started.next)
        stats = services.store.sweep_runs.get(started.run_id).stats
        say(f"sweep {target.rule} on {target.tracker}: {stats.get('applied_items', 0)} items written "
            f"({stats.get('writes', 0)} writes), {stats.get('held_items', 0)} held")


def where_to_look(sandbox: Sandbox) -> str:
    lines = [f"  what Flowkeeper wrote:  {sandbox.stub_url}/_stub/  (comments and labels, per issue)"]
    if sandbox.admin_url:
        lines += [f"  admin (password '{ADMIN_PASSWORD}'):",
                  f"    flagged:  {sandbox.admin_url}/flagged",
                  f"    audit:    {sandbox.admin_url}/audit",
                  f"    reports:  {sandbox.admin_url}/reports"]
    return "Where to look:\n" + "\n".join(lines)
