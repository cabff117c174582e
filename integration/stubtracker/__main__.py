"""`python -m integration.stubtracker --port N`: the stub on a loopback port.

Served by gunicorn's threaded worker in one process (the stub's state is its memory), with
connections kept alive as Jira and Linear keep them: Werkzeug's development server closes every
connection, so each tracker call cost a new TCP connection and a new server thread, which a real
tracker never charges and which made the stub the busiest process in the end-to-end bench.
"""

from __future__ import annotations

import argparse
import logging
from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication

from integration.stubtracker.app import create_stub_app
from integration.stubtracker.jiralimits import JiraLimits
from integration.stubtracker.state import StubState


class _Served(BaseApplication):  # type: ignore[misc]
    """One gunicorn worker (one copy of the stub's state) answering on many threads."""

    def __init__(self, app: Flask, bind: str) -> None:
        self.app, self.bind = app, bind
        super().__init__()

    def load_config(self) -> None:
        settings: dict[str, Any] = {"bind": self.bind, "workers": 1, "threads": 16, "worker_class": "gthread",
                                    "keepalive": 75, "graceful_timeout": 2, "timeout": 0, "loglevel": "warning",
                                    "accesslog": None}
        for name, value in settings.items():
            self.cfg.set(name, value)

    def load(self) -> Flask:
        return self.app


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m integration.stubtracker")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--jira-burst-per-second", type=float, default=JiraLimits.burst_per_second,
                        help="Jira's burst limit per endpoint and method (a stand-in: Atlassian publishes none)")
    parser.add_argument("--jira-issue-writes-per-second", type=float, default=JiraLimits.issue_writes_per_second,
                        help="Jira's per-issue write limit (likewise a stand-in)")
    parser.add_argument("--enforce-jira-limits", action="store_true",
                        help="answer 429 when a Jira budget is spent (else the headers only say so)")
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    limits = JiraLimits(burst_per_second=args.jira_burst_per_second,
                        issue_writes_per_second=args.jira_issue_writes_per_second, enforce=args.enforce_jira_limits)
    app = create_stub_app(StubState(jira_limits=limits))
    print(f"stub tracker on http://{args.host}:{args.port}", flush=True)
    _Served(app, f"{args.host}:{args.port}").run()


if __name__ == "__main__":
    main()
