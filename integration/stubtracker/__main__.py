"""`python -m integration.stubtracker --port N`: the stub on a loopback port.

One process (the stub's state is its memory), one thread per kept-alive connection (`serving`),
connections kept alive as Jira and Linear keep them.
"""

from __future__ import annotations

import argparse
import logging

from integration.stubtracker.app import create_stub_app
from integration.stubtracker.jiralimits import JiraLimits
from integration.stubtracker.serving import serve
from integration.stubtracker.state import StubState


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
    serve(app, args.host, args.port)


if __name__ == "__main__":
    main()
