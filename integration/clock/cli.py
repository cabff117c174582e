"""`flowkeeper cron`: the clock process (RQ's cron scheduler; needs REDIS_URL).

`register(subparsers)` adds the command to the `flowkeeper` parser.
"""

from __future__ import annotations

import argparse

from integration.settings import settings_or_exit


def cmd_cron(args: argparse.Namespace) -> int:
    from integration.clock.cron import run_cron
    from integration.logs import configure

    settings = settings_or_exit()
    configure(settings.log_format, settings.secrets())
    return run_cron(settings)


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add `cron` to the `flowkeeper` parser."""
    cron = subparsers.add_parser("cron", help="the clock: schedule every rule's sweeps and the reconcile (REDIS_URL)")
    cron.set_defaults(func=cmd_cron)

