"""`flowkeeper sync | sweep RULE | held list|show|approve|discard`.

`register(subparsers)` adds the commands to the `flowkeeper` parser; `python -m
integration.sweeps.cli …` runs them on their own.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from typing import TextIO

from integration.settings import Settings, settings_or_exit

TRACKERS = ("jira", "linear")


def _services(settings: Settings):  # type: ignore[no-untyped-def]
    from integration.observability import bind_figures
    from integration.services import build_services

    services = build_services(settings)
    bind_figures(services.redis)  # a sweep run here is counted where /metrics reads
    return services


class ProgressLine:
    """A one-line counter on a terminal (the total is unknown: trackers do not say); quiet otherwise."""

    def __init__(self, tracker: str, stream: TextIO) -> None:
        self.tracker, self.stream, self.started = tracker, stream, time.monotonic()
        self.tty = stream.isatty()

    def __call__(self, items: int, pages: int) -> None:
        if self.tty:
            rate = items / max(time.monotonic() - self.started, 1e-6)
            bar = "█" * (pages % 20) + "·" * (20 - pages % 20)
            self.stream.write(f"\r{self.tracker} [{bar}] {items:,} items, {pages} pages, {rate:,.0f} items/s")
            self.stream.flush()

    def done(self) -> None:
        if self.tty:
            self.stream.write("\n")


def cmd_sync(args: argparse.Namespace) -> int:
    from integration.sweeps.sync import sync

    services = _services(settings_or_exit())
    trackers = args.tracker or sorted(services.clients)
    missing = [t for t in trackers if t not in services.clients]
    if missing or not trackers:
        print(f"flowkeeper: {', '.join(missing) or 'no tracker'} is not configured (credentials missing)",
              file=sys.stderr)
        return 2
    for tracker in trackers:
        progress = ProgressLine(tracker, sys.stderr)
        report = sync(services, tracker, history=not args.no_history, progress=progress)
        progress.done()
        print(report.describe())
    return 0


def cmd_sweep(args: argparse.Namespace) -> int:
    from integration.sweeps.dispatch import RqDispatch, run_inline
    from integration.sweeps.sweep import Sweeper

    services = _services(settings_or_exit())
    rule = services.rules.current().rule(args.rule)
    if rule is None:
        print(f"flowkeeper: no rule named {args.rule!r}", file=sys.stderr)
        return 2
    trackers = args.tracker or sorted(t.value for t in rule.trackers if t.value in services.clients)
    if not trackers:
        print(f"flowkeeper: rule {args.rule} applies to no configured tracker", file=sys.stderr)
        return 2
    for tracker in trackers:
        if args.enqueue and services.redis is not None:
            RqDispatch(services.redis).start(args.rule, tracker, "manual", force=True)
            print(f"{tracker}: sweep of {args.rule} handed to the workers")
            continue
        sweeper = Sweeper(services, force_dry_run=args.dry_run)
        started = sweeper.start(args.rule, tracker, "manual", force=True)
        print(f"{tracker}: {started.message}")
        if started.run_id is not None:
            run_inline(sweeper, started.next)
            run = services.store.sweep_runs.get(started.run_id)
            print(describe_run(run))
            for line in write_lines(services, run):
                print(line)
    return 0


RESULTS = {"done": "written", "failed": "failed", "skipped": "skipped", "would_do": "dry run, not written"}


def write_lines(services, run) -> list[str]:  # type: ignore[no-untyped-def]
    """What a run wrote, item by item: key, title, then each write with its label or its
    comment's text. A dry run lists what a live sweep would write, to read before turning
    it on; a live run adds each write's result (written, failed or skipped, and why)."""
    from integration.store.audit import AuditFilter

    since = AuditFilter(rule=run.rule, tracker=run.tracker, since=run.started_at)
    by_item: dict[str, list[tuple[str, str]]] = {}
    for entry in reversed(list(services.store.audit.iter_all(since))):
        if entry.detail.get("run") == run.id and entry.item_key and entry.outcome.value in RESULTS:
            by_item.setdefault(entry.item_key, []).append((_write_words(entry.action, entry.detail),
                                                           _result(entry.outcome.value, entry.reason)))
    if not by_item:
        return []
    dry = all(result == RESULTS["would_do"] for writes in by_item.values() for _, result in writes)
    items = f"{len(by_item)} item{'s' if len(by_item) != 1 else ''}"
    lines = [f"  {run.rule} would write (dry run) on {items}:" if dry else f"  {run.rule} wrote on {items}:"]
    for key, writes in by_item.items():
        item = services.store.mirror.get_by_key(run.tracker, key)
        lines.append(f"  {key}  {item.title if item is not None and item.title else ''}".rstrip())
        lines += [f"      {words}" if dry else f"      {words} — {result}" for words, result in writes]
    return lines


def _result(outcome: str, reason: str) -> str:
    """'written'; 'failed: HTTPError: 403 …' and 'skipped: already done by an earlier run' say why."""
    return RESULTS[outcome] if outcome in ("done", "would_do") else f"{RESULTS[outcome]}: {reason}"


def _write_words(action: str, detail) -> str:  # type: ignore[no-untyped-def]
    """'add_labels stalled', 'comment: ENG-1 has stalled.', 'transition: to Done'."""
    if detail.get("labels"):
        return f"{action} {' '.join(detail['labels'])}"
    if detail.get("comment"):
        return f"{action}: {' '.join(str(detail['comment']).split())}"
    if isinstance(detail.get("transition"), dict):
        return f"{action}: to {detail['transition'].get('to')}"
    if detail.get("assignee"):
        return f"{action}: {detail['assignee']}"
    return action


def describe_run(run) -> str:  # type: ignore[no-untyped-def]
    s = run.stats
    counts = (f"  candidates {run.candidates} in {run.pages} pages · planned {s.get('planned_items', 0)}"
              f" · written {s.get('applied_items', 0)} ({s.get('writes', 0)} writes)"
              f" · would change (dry run) {s.get('dry_items', 0)} · deferred {s.get('deferred_items', 0)}"
              f" · held {s.get('held_items', 0)}")
    lines = [f"  {run.state}: {run.reason or ''}".rstrip(), counts]
    if s.get("would_hold"):
        lines.append("  note: live, this sweep would be held for approval (blast-radius limit)")
    return "\n".join(lines)


def cmd_held(args: argparse.Namespace) -> int:
    from integration.sweeps import held

    services = _services(settings_or_exit())
    if args.held_command == "list":
        batches = held.list_batches(services, None if args.all else "pending")
        if not batches:
            print("no held writes" if not args.all else "no batches")
        for batch in batches:
            print(f"#{batch.id} {batch.state} · {batch.rule} on {batch.tracker} · {batch.items} items · "
                  f"{batch.created_at:%Y-%m-%d %H:%M} UTC\n  {batch.reason}")
        return 0
    if args.held_command == "show":
        for write in held.writes_of(services, args.id):
            print(f"{write.item_key}\t{write.state}\t{write.summary}")
        return 0
    try:
        if args.held_command == "approve":
            def progress(n: int, total: int, key: str, result: str) -> None:
                print(f"  {n}/{total} {key}: {result}", flush=True)

            print(held.approve(services, args.id, by=args.by, progress=progress).describe())
        else:
            print(f"batch {args.id}: {held.discard(services, args.id, by=args.by)} items' writes discarded")
    except ValueError as error:
        print(f"flowkeeper: {error}", file=sys.stderr)
        return 1
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add `sync`, `sweep` and `held` to the `flowkeeper` parser."""
    sync = subparsers.add_parser("sync", help="backfill the mirror: open items of the scope and their status history")
    sync.add_argument("--tracker", choices=TRACKERS, action="append", help="default: every configured tracker")
    sync.add_argument("--no-history", action="store_true", help="items only, no status history (one read less each)")
    sync.set_defaults(func=cmd_sync)

    sweep = subparsers.add_parser("sweep", help="run one rule's sweep now and print what it did")
    sweep.add_argument("rule")
    sweep.add_argument("--tracker", choices=TRACKERS, action="append", help="default: every tracker the rule names")
    sweep.add_argument("--dry-run", action="store_true", help="record what it would do; write nothing")
    sweep.add_argument("--enqueue", action="store_true", help="hand the sweep to the RQ workers instead")
    sweep.set_defaults(func=cmd_sweep)

    held = subparsers.add_parser("held", help="writes held by the blast-radius guard")
    held_sub = held.add_subparsers(dest="held_command", required=True)
    listing = held_sub.add_parser("list", help="batches waiting for a decision")
    listing.add_argument("--all", action="store_true", help="decided batches too")
    held_sub.add_parser("show", help="the intended writes of a batch").add_argument("id", type=int)
    for verb, text in (("approve", "re-check each held item now and apply what is still wanted"),
                       ("discard", "drop the batch; nothing is written")):
        parser = held_sub.add_parser(verb, help=text)
        parser.add_argument("id", type=int)
        parser.add_argument("--by", default="cli", help="who decided (kept in the audit log)")
    held.set_defaults(func=cmd_held)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="flowkeeper", description=__doc__)
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    raise SystemExit(main())
