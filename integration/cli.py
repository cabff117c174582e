"""`flowkeeper`: serve, worker, db upgrade | figures, replay, send-sample, rules …, jira/linear check."""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from integration.settings import Settings, or_exit, read_rules_dir, settings_or_exit

if TYPE_CHECKING:
    from integration.services import Services
    from integration.trackers.base import TrackerClient
    from rules.model import EvalContext, Item
    from rules.ruleset import RuleSet

log = logging.getLogger("flowkeeper")


def _settings() -> Settings:
    return settings_or_exit()


def _configure_logging(settings: Settings) -> None:
    from integration.logs import configure

    configure(settings.log_format, settings.secrets())
    if settings.allow_unsigned:
        log.warning("FLOWKEEPER_ALLOW_UNSIGNED=1: webhooks without a configured secret are ACCEPTED UNSIGNED. "
                    "Anyone who can reach this service can feed it events.")


def _rules_dir() -> Path | None:
    """RULES_DIR for the rules commands, read alone: checking rule files needs no other setting."""
    return or_exit(read_rules_dir)


def cmd_serve(args: argparse.Namespace) -> int:
    from integration.serve import serve

    settings = _settings()
    _configure_logging(settings)
    return serve(settings, host=args.host, port=args.port or settings.serve.port, workers=args.workers)


def cmd_worker(args: argparse.Namespace) -> int:
    from integration.worker import run_worker

    settings = _settings()
    _configure_logging(settings)
    return run_worker(settings, burst=args.burst, fork=args.fork)


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    from integration.store.migrate import upgrade_reporting

    settings = _settings()
    applied = upgrade_reporting(settings.database_url)
    for line in applied:
        print(f"applied {line}")
    print(f"database schema is up to date ({len(applied)} migrations applied)" if applied
          else "database schema was already up to date: no migration applied")
    return 0


def cmd_db_figures(args: argparse.Namespace) -> int:
    from integration.store.db import make_engine
    from integration.store.kept_figures import differing, rebuild

    engine = make_engine(_settings().database_url)
    try:
        if args.rebuild:
            started = time.monotonic()
            rebuild(engine)
            print(f"recomputed the kept report figures from the history in {time.monotonic() - started:.1f} s")
        stale = differing(engine)
    finally:
        engine.dispose()
    for name in stale:
        print(f"differs from the history: {name} (`flowkeeper db figures --rebuild` recomputes it)")
    if not stale:
        print("the kept report figures equal the history's")
    return 1 if stale else 0


def cmd_replay(args: argparse.Namespace) -> int:
    from integration.replay import replay_files

    settings = _settings()
    _configure_logging(settings)
    return replay_files(settings, args.files, tracker=args.tracker, use_database=args.use_database)


def cmd_send_sample(args: argparse.Namespace) -> int:
    from integration.samples import send_sample

    settings = _settings()
    return send_sample(settings, args.tracker, args.file, url=args.url)


def cmd_check(args: argparse.Namespace) -> int:
    from integration.checks import run_tracker_check

    settings = _settings()
    return run_tracker_check(settings, args.tracker, projects=args.project)


def _rules_services(clients: Mapping[str, TrackerClient] | None = None) -> Services:
    """Services for `rules check --online` / `rules simulate`, built only when those run."""
    from integration.services import build_services
    from rules.errors import RuleFileError

    try:
        return build_services(_settings(), clients=clients)
    except RuleFileError as error:
        print(f"flowkeeper: the running rule set (RULES_DIR) does not load:\n{error}", file=sys.stderr)
        raise SystemExit(2) from None


def _rules_online(ruleset: RuleSet) -> list[str]:
    from integration.rules_cli_reads import online_problems

    return online_problems(_rules_services())(ruleset)


def _rules_mirror(ruleset: RuleSet) -> Iterator[tuple[Item, EvalContext]]:
    from integration.rules_cli_reads import MirrorUnavailable, mirror_items

    services = _rules_services(clients={})
    try:
        yield from mirror_items(services)(ruleset)
    except MirrorUnavailable as error:
        print(f"flowkeeper: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    finally:
        services.store.engine.dispose()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="flowkeeper", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the web service (and, on the embedded default, the jobs)")
    serve.add_argument("--host", default="127.0.0.1",
                       help="address to bind (default 127.0.0.1: this machine only; 0.0.0.0 for every interface)")
    serve.add_argument("--port", type=int, default=None, help="default: $PORT or 8000")
    serve.add_argument("--workers", type=int, default=None, help="gunicorn workers (default $WEB_CONCURRENCY or 2)")
    serve.set_defaults(func=cmd_serve)

    worker = sub.add_parser("worker", help="run an RQ worker (with its scheduler) on REDIS_URL")
    worker.add_argument("--burst", action="store_true", help="stop when the queue is empty")
    worker.add_argument("--fork", action="store_true", help="fork a process per job (RQ's default worker)")
    worker.set_defaults(func=cmd_worker)

    db = sub.add_parser("db", help="database schema")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    db_sub.add_parser("upgrade", help="apply migrations (the release step)").set_defaults(func=cmd_db_upgrade)
    figures = db_sub.add_parser("figures", help="check the report figures kept at write time against the history")
    figures.add_argument("--rebuild", action="store_true", help="recompute them from the history first")
    figures.set_defaults(func=cmd_db_figures)

    replay = sub.add_parser("replay", help="feed saved webhook bodies through the pipeline, printing decisions")
    replay.add_argument("files", nargs="+")
    replay.add_argument("--tracker", choices=["jira", "linear"], default=None, help="default: detect from the body")
    replay.add_argument("--use-database", action="store_true",
                        help="record the decisions in DATABASE_URL (default: a scratch database, thrown away)")
    replay.set_defaults(func=cmd_replay)

    sample = sub.add_parser("send-sample", help="sign a saved body and post it to a running Flowkeeper")
    sample.add_argument("tracker", choices=["jira", "linear"])
    sample.add_argument("file")
    sample.add_argument("--url", default=None, help="default: http://127.0.0.1:$PORT")
    sample.set_defaults(func=cmd_send_sample)

    for tracker in ("jira", "linear"):
        group = sub.add_parser(tracker, help=f"{tracker} connection")
        group_sub = group.add_subparsers(dest=f"{tracker}_command", required=True)
        check = group_sub.add_parser("check", help="verify credentials, permissions, and print webhook setup")
        check.add_argument("--project", action="append", default=[], help="project/team key to check (repeatable)")
        check.set_defaults(func=cmd_check, tracker=tracker)

    from integration.clock.cli import register as register_clock
    from integration.demo.cli import register as register_demo
    from integration.reports.cli import register as register_reports
    from integration.retention import register as register_retention
    from integration.sweeps.cli import register as register_sweeps
    from rules.cli import register as register_rules

    register_rules(sub, online=_rules_online, mirror=_rules_mirror, rules_dir=_rules_dir)
    register_clock(sub)
    register_sweeps(sub)
    register_reports(sub)
    register_retention(sub)
    register_demo(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    raise SystemExit(main())
