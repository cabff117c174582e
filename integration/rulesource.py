"""The running rule set of a process: loaded at start, reloaded when files change.

A process that cannot load a valid set at start refuses to start (a broken deploy fails
loudly instead of running nothing); a reload that fails keeps the last good set running
and keeps the error for the admin page and the logs.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from integration.store.states import Overrides
from rules.engine import evaluate
from rules.errors import RuleFileError
from rules.loader import builtin_pack_paths, load_ruleset
from rules.model import EvalContext, Event, Item, Plan

log = logging.getLogger("flowkeeper.rules")

RULE_SUFFIXES = (".yml", ".yaml")


def rule_files(rules_dir: Path | None) -> list[Path]:
    if rules_dir is None:
        return list(builtin_pack_paths())
    return sorted(p for p in rules_dir.rglob("*") if p.suffix in RULE_SUFFIXES and p.is_file())


def _signature(paths: Sequence[Path]) -> tuple[tuple[str, float, int], ...]:
    out = []
    for p in paths:
        try:
            stat = p.stat()
            out.append((str(p), stat.st_mtime, stat.st_size))
        except OSError:
            out.append((str(p), 0.0, -1))
    return tuple(out)


class RuleSource:
    def __init__(self, rules_dir: Path | None, overrides: Overrides, check_every: float = 2.0) -> None:
        self.rules_dir = rules_dir
        self.overrides = overrides
        self.check_every = check_every
        self.last_error: RuleFileError | None = None
        self.loaded_at: float = 0.0
        self._lock = threading.Lock()
        self._checked = 0.0
        paths = rule_files(rules_dir)
        self._signature = _signature(paths)
        self._ruleset = load_ruleset(paths)  # raises: a process refuses to start on a broken set
        self.loaded_at = time.time()
        self.files = [str(p) for p in paths]

    def current(self) -> Any:
        """The rule set to use now, reloading first when a rule file changed."""
        now = time.monotonic()
        if now - self._checked >= self.check_every:
            self._checked = now
            self._maybe_reload()
        return self._ruleset

    def _maybe_reload(self) -> None:
        paths = rule_files(self.rules_dir)
        signature = _signature(paths)
        if signature == self._signature:
            return
        with self._lock:
            self._signature = signature
            try:
                ruleset = load_ruleset(paths)
            except RuleFileError as error:
                self.last_error = error
                log.error("rules.reload_failed: keeping the last good rule set\n%s", error)
                return
            self._ruleset, self.last_error, self.loaded_at = ruleset, None, time.time()
            self.files = [str(p) for p in paths]
            log.info("rules.reloaded", extra={"rules": len(ruleset.rules)})

    def evaluate(self, item: Item, event: Event | None, now: datetime, context: EvalContext) -> Plan:
        return evaluate(self.current(), item, event, now, context)

    def rule(self, name: str) -> Any | None:
        return next((r for r in self.current().rules if r.name == name), None)

    def rule_dry_run(self, name: str) -> bool:
        """A rule's own dry run: an admin override wins over the file. The global dry run is applied
        separately and nothing here can lift it."""
        override = self.overrides.all().get(name, {})
        if "dry_run" in override:
            return bool(override["dry_run"])
        rule = self.rule(name)
        return bool(rule is not None and rule.dry_run)
