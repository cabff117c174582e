"""`flowkeeper report` and `flowkeeper digest`: the report's figures from the command line.

`register(subparsers)` adds both commands to the `flowkeeper` parser.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path

from integration.reports.scope import ScopeError, make_scope

FORMATS = ("md", "html", "json", "csv")


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    from integration.reports.montecarlo import SEED
    from integration.reports.report import SECTIONS

    report = subparsers.add_parser(
        "report", help="flow metrics: WIP, cycle time, throughput, aging, hygiene, roadmap")
    _scope_args(report)
    report.add_argument("--format", choices=FORMATS, default="md", help="md (default), html, json or csv")
    report.add_argument("--section", action="append", choices=list(SECTIONS), default=[],
                        help="only this section (repeatable; default: all)")
    report.add_argument("--dataset", default=None, help="with --format csv: one dataset as a plain table")
    report.add_argument("--output", "-o", default=None, help="write to this file instead of standard output")
    report.add_argument("--forecast-items", type=int, default=None, metavar="N",
                        help="forecast: when will N items be done (default: the items in progress now)")
    report.add_argument("--forecast-date", default=None, metavar="DATE",
                        help="forecast: how many items by this date (default: two weeks after the period)")
    report.add_argument("--seed", type=int, default=SEED, help=f"forecast random seed (default {SEED})")
    report.add_argument("--cfd-by", choices=["category", "status"], default="category",
                        help="cumulative flow bands: status categories (default) or each status")
    report.add_argument("--waiting", action="append", default=[], metavar="STATUS",
                        help="flow efficiency: count this status as waiting, for every team (repeatable; "
                             "replaces the default by name)")
    report.set_defaults(func=cmd_report)

    digest = subparsers.add_parser(
        "digest", help="the weekly team digest: print it, or post it where configured")
    digest.add_argument("--team", action="append", default=[], help="only this team's digest (repeatable)")
    digest.add_argument("--config", default=None, help="digest file (default: $FLOWKEEPER_DIGESTS)")
    digest.add_argument("--post", action="store_true",
                        help="deliver to the configured targets (dry-run aware)")
    digest.add_argument("--due", action="store_true", help="with --post: only digests whose schedule is due")
    digest.add_argument("--dry-run", action="store_true", help="record what would be posted, post nothing")
    digest.set_defaults(func=cmd_digest)


def _scope_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--team", action="append", default=[],
                        help="team/project key (repeatable; default: all)")
    parser.add_argument("--tracker", action="append", choices=["jira", "linear"], default=[],
                        help="only this tracker (repeatable; default: combined)")
    parser.add_argument("--since", default="30d", help="period back from --until (30d, 12w, 48h) or a date")
    parser.add_argument("--until", default=None, help="end of the period (date or ISO time; default: now)")


def _settings():  # type: ignore[no-untyped-def]
    from integration.settings import settings_or_exit

    return settings_or_exit()


def cmd_report(args: argparse.Namespace) -> int:
    from integration.reports.context import make_ask
    from integration.reports.efficiency import ALL_TEAMS
    from integration.reports.render import render_report
    from integration.reports.report import build_report
    from integration.reports.sources import catalog_from_rules_dir, check_teams, known_teams, project_targets
    from integration.store.store import Store

    settings = _settings()
    try:
        scope = make_scope(args.since, datetime.now(UTC), until=args.until, trackers=args.tracker,
                           teams=args.team)
        ask = make_ask(args.forecast_items, args.forecast_date, args.seed, args.cfd_by,
                       {ALL_TEAMS: tuple(args.waiting)} if args.waiting else settings.reports.waiting_statuses,
                       earliest=scope.until)
    except ScopeError as error:
        print(f"flowkeeper report: {error}", file=sys.stderr)
        return 2
    store = Store.connect(settings.database_url)
    try:
        check_teams(args.team, known_teams(store.engine))
        report = build_report(store.engine, scope, catalog=catalog_from_rules_dir(settings.rules_dir),
                              targets=project_targets(store), sections=args.section, ask=ask,
                              connections=settings.reports.connections)
        text = render_report(report, args.format, dataset=args.dataset)
    except ValueError as error:
        print(f"flowkeeper report: {error}", file=sys.stderr)
        return 2
    finally:
        store.engine.dispose()
    _write(text, args.output)
    return 0


def _write(text: str, output: str | None) -> None:
    if output:
        Path(output).write_text(text, encoding="utf-8")
        print(f"wrote {output}", file=sys.stderr)
    else:
        sys.stdout.write(text)


def cmd_digest(args: argparse.Namespace) -> int:
    from integration.reports.digest_run import run_digest_command

    return run_digest_command(_settings(), args)
