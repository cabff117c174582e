"""The running rule set of a process: loaded at start, reloaded when files change.

A process that cannot load a valid set at start refuses to start (a broken deploy fails
loudly instead of running nothing); a reload that fails keeps the last good set running
and keeps the error for the admin page and the logs (see rules.reloading.RuleHolder).
"""

from __future__ import annotations

import time
from pathlib import Path

from integration.store.states import Overrides
from rules.errors import RuleFileError
from rules.loader import builtin_pack_paths, rule_files
from rules.reloading import RuleHolder
from rules.ruleset import Rule, RuleSet


class RuleSource:
    def __init__(self, rules_dir: Path | None, overrides: Overrides, check_every: float = 2.0) -> None:
        self.overrides = overrides
        self.check_every = check_every
        paths = [rules_dir] if rules_dir is not None else list(builtin_pack_paths())
        self._holder = RuleHolder.start(paths)  # raises RuleFileError: refuse to start on a broken set
        self.loaded_at = time.time()
        self._checked = time.monotonic()

    @property
    def files(self) -> list[str]:
        return [str(p) for p in rule_files(self._holder.paths)]

    @property
    def last_error(self) -> RuleFileError | None:
        return self._holder.last_error

    def current(self) -> RuleSet:
        """The rule set to use now, reloading first when a rule file changed (checked every few seconds)."""
        now = time.monotonic()
        if now - self._checked >= self.check_every:
            self._checked = now
            if self._holder.reload_if_changed():
                self.loaded_at = time.time()
        return self._holder.current

    def rule(self, name: str) -> Rule | None:
        return self.current().rule(name)
