"""`rules check | test | explain | schema | simulate`: for rule authors and CI.

`register(subparsers)` adds them under `flowkeeper rules`; `python -m rules.cli check`
works on its own. Tracker I/O (`check --online`, simulate over the mirror) and the
deployment's rule folder (`RULES_DIR`, from the settings) are injected by the caller;
without them those commands say what they need, and the default rules are the built-in packs.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rules.errors import RuleFileError, did_you_mean
from rules.itemjson import ItemJsonError, context_from_dict, event_from_dict, item_from_dict, parse_time
from rules.loader import builtin_pack_paths, load_ruleset
from rules.model import EvalContext, Item
from rules.ruleset import RuleSet
from rules.ruletests import run_tests
from rules.schema import SCHEMA_PATH, render_schema, write_schema
from rules.simulate import format_summary, summarize
from rules.verdicts import explain, format_verdicts

OnlineChecker = Callable[[RuleSet], list[str]]  # problems found on the trackers
MirrorSource = Callable[[RuleSet], Iterable[tuple[Item, EvalContext]]]
RulesDir = Callable[[], Path | None]  # the deployment's rule folder, asked only when no path is given


def default_paths(paths: Sequence[str], rules_dir: RulesDir | None = None) -> list[str | Path]:
    """Explicit paths, else the deployment's rule folder, else the built-in packs."""
    if paths:
        return list(paths)
    folder = rules_dir() if rules_dir is not None else None
    return [folder] if folder is not None else list(builtin_pack_paths())


def _load(paths: Sequence[str], rules_dir: RulesDir | None) -> RuleSet | None:
    try:
        return load_ruleset(default_paths(paths, rules_dir))
    except RuleFileError as exc:
        for error in exc.errors:
            print(error, file=sys.stderr)
        print(f"{len(exc.errors)} error{'s' if len(exc.errors) != 1 else ''}", file=sys.stderr)
        return None


def cmd_check(args: argparse.Namespace, online: OnlineChecker | None = None) -> int:
    ruleset = _load(args.paths, args.rules_dir)
    if ruleset is None:
        return 1
    summary = f"{len(ruleset.rules)} rules in {len(ruleset.sources)} files"
    if not args.online:
        print(f"ok: {summary}")
        return 0
    if online is None:
        print("--online needs the tracker connections: run it as `flowkeeper rules check --online`", file=sys.stderr)
        return 2
    problems = online(ruleset)
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:  # "ok" only when the whole check passed, so the output never contradicts the exit code
        print(f"FAIL: {summary} are valid, but {len(problems)} problem{'s' if len(problems) != 1 else ''} "
              "found on the trackers (above)")
        return 1
    print(f"ok: {summary}; the names they use exist on the trackers")
    return 0


def cmd_test(args: argparse.Namespace) -> int:
    ruleset = _load(args.paths, args.rules_dir)
    if ruleset is None:
        return 1
    results = run_tests(ruleset)
    for result in results:
        print(f"{'PASS' if result.passed else 'FAIL'} {result.title}")
        if not result.passed:
            print(f"    {result.detail}")
    failed = sum(not r.passed for r in results)
    print(f"{len(results) - failed} passed, {failed} failed")
    return 1 if failed else 0


def _read_json(path: str | None) -> dict[str, Any] | None:
    if path is None:
        return None
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ItemJsonError(f"{path}: expected a JSON object")
    return data


def cmd_explain(args: argparse.Namespace) -> int:
    if not args.all and not args.rule:
        print("name a RULE or pass --all", file=sys.stderr)
        return 2
    ruleset = _load(args.rules, args.rules_dir)
    if ruleset is None:
        return 1
    try:
        now = parse_time(args.now) or datetime.now(UTC)
        item = item_from_dict(_read_json(args.item) or {})
        raw_event = _read_json(args.event)
        event = event_from_dict(raw_event, item, now) if raw_event else None
        context = context_from_dict(_read_json(args.context))
    except (OSError, ValueError) as exc:
        print(f"cannot read input: {exc}", file=sys.stderr)
        return 2
    verdicts = explain(ruleset, item, event, now, context)
    if not args.all:
        verdicts = [v for v in verdicts if v.rule == args.rule]
        if not verdicts:
            hint = did_you_mean(args.rule, [r.name for r in ruleset.rules])
            print(f"no rule named '{args.rule}'{hint}", file=sys.stderr)
            return 2
    print(format_verdicts(verdicts))
    return 0


def cmd_schema(args: argparse.Namespace) -> int:
    return _generated(args.write, SCHEMA_PATH, render_schema, write_schema)


def cmd_reference(args: argparse.Namespace) -> int:
    from rules.reference import REFERENCE_PATH, render_reference, write_reference

    return _generated(args.write, REFERENCE_PATH, render_reference, write_reference)


def _generated(write: bool, path: Path, render: Callable[[], str], write_file: Callable[[], object]) -> int:
    """A generated file (the schema, the reference): written to `path` with --write, else shown."""
    if write:
        write_file()
        print(f"wrote {path}")
    else:
        sys.stdout.write(render())
    return 0


def _items_file(path: str) -> list[tuple[Item, EvalContext]]:
    out = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            raw = row.get("item", row)
            out.append((item_from_dict(raw), context_from_dict(row.get("context"))))
    return out


def cmd_simulate(args: argparse.Namespace, mirror: MirrorSource | None = None) -> int:
    ruleset = _load(args.paths, args.rules_dir)
    if ruleset is None:
        return 1
    now = parse_time(args.now) or datetime.now(UTC)
    if args.items:
        try:
            source: Iterable[tuple[Item, EvalContext]] = _items_file(args.items)
        except (OSError, ValueError) as exc:
            print(f"cannot read items: {exc}", file=sys.stderr)
            return 2
    elif mirror is not None:
        source = mirror(ruleset)
    else:
        print("simulate needs the item mirror (`flowkeeper rules simulate`) or --items FILE.jsonl", file=sys.stderr)
        return 2
    judged = [0]

    def counted() -> Iterable[tuple[Item, EvalContext]]:
        for pair in source:
            judged[0] += 1
            yield pair

    summary = summarize(ruleset, counted(), now)
    rules = len(ruleset.rules)
    print(f"judged {judged[0]} item{'' if judged[0] == 1 else 's'} against {rules} rule{'' if rules == 1 else 's'}")
    print(format_summary(summary))
    return 0


def add_commands(sub: Any, online: OnlineChecker | None = None, mirror: MirrorSource | None = None,
                 rules_dir: RulesDir | None = None) -> None:
    check = sub.add_parser("check", help="validate rule files")
    check.add_argument("paths", nargs="*")
    check.add_argument("--online", action="store_true", help="also check names against the trackers")
    check.set_defaults(func=lambda a: cmd_check(a, online))
    test = sub.add_parser("test", help="run the tests rule files carry")
    test.add_argument("paths", nargs="*")
    test.set_defaults(func=cmd_test)
    exp = sub.add_parser("explain", help="why each rule does or does not act on an item")
    exp.add_argument("rule", nargs="?")
    exp.add_argument("--all", action="store_true")
    exp.add_argument("--item", required=True, help="item JSON file")
    exp.add_argument("--event", help="event JSON file")
    exp.add_argument("--context", help="context JSON file (rule states, WIP counts, snooze)")
    exp.add_argument("--now", help="ISO 8601 time (default: now)")
    exp.add_argument("--rules", nargs="*", default=[], help="rule files or folders")
    exp.set_defaults(func=cmd_explain)
    schema = sub.add_parser("schema", help="print the rule-file JSON Schema")
    schema.add_argument("--write", action="store_true", help=f"rewrite {SCHEMA_PATH.name}")
    schema.set_defaults(func=cmd_schema)
    ref = sub.add_parser("reference", help="print the reference of every condition (docs/rule-reference.md)")
    ref.add_argument("--write", action="store_true", help="rewrite docs/rule-reference.md")
    ref.set_defaults(func=cmd_reference)
    sim = sub.add_parser("simulate", help="the writes a rule set would make, per rule")
    sim.add_argument("paths", nargs="*")
    sim.add_argument("--items", help="JSON lines of items (default: the item mirror)")
    sim.add_argument("--now", help="ISO 8601 time (default: now)")
    sim.set_defaults(func=lambda a: cmd_simulate(a, mirror))
    for command in (check, test, exp, schema, sim):
        command.set_defaults(rules_dir=rules_dir)


def register(subparsers: Any, online: OnlineChecker | None = None, mirror: MirrorSource | None = None,
             rules_dir: RulesDir | None = None) -> None:
    """Add `rules …` to a parent CLI; each command sets `func(args) -> exit code`."""
    parser = subparsers.add_parser("rules", help="check, test and explain rule files")
    add_commands(parser.add_subparsers(dest="rules_command", required=True), online, mirror, rules_dir)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rules.cli", description=__doc__)
    add_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    code: int = args.func(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
