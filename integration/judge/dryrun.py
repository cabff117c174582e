"""`DryRun`: whether a job's writes go out, decided once when the job starts.

Every writer of the past asked "is this a dry run?" on its own, with slightly different
questions. Here the answer is one value: the deployment's dry run (FLOWKEEPER_DRY_RUN, no
credentials, or `--dry-run`), whether a tracker client exists to write through, and each
rule's own dry run after admin overrides, read once per job. The judge uses it to choose
which mode's episodes a rule sees; the executor uses it to choose "would do" or "do".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType

from rules.engine import effective
from rules.model import Action, EvalContext
from rules.ruleset import Rule

LIVE, DRY = "live", "dry"


@dataclass(frozen=True)
class DryRun:
    requested: bool  # the deployment's dry run (or no credentials), or `--dry-run`
    writable: bool = True  # a tracker client exists to write through
    rules: Mapping[str, bool] = field(default_factory=lambda: MappingProxyType({}))  # rule → its own dry run
    unknown_dry: bool = True  # a name not in `rules`: a rule that is gone writes nothing

    @classmethod
    def decide(cls, requested: bool, writable: bool, rules: Iterable[Rule] = (),
               overrides: Mapping[str, Mapping[str, bool]] | None = None) -> DryRun:
        """One job's answer; `rules` with `overrides` gives each rule's own dry run."""
        context = EvalContext(overrides=overrides or {})
        own = {rule.name: effective(rule, context)[1] for rule in rules}
        return cls(requested, writable, MappingProxyType(own))

    @classmethod
    def ruleless(cls, requested: bool, writable: bool) -> DryRun:
        """For writes that belong to no rule (digests): only the deployment's dry run holds them."""
        return cls(requested, writable, unknown_dry=False)

    def also_live(self, name: str) -> DryRun:
        """`name` (no rule's: command replies) writes unless the deployment is in dry run."""
        return replace(self, rules=MappingProxyType({**self.rules, name: False}))

    @property
    def everything(self) -> bool:
        """Nothing is written in this job, whatever the rules say."""
        return self.requested or not self.writable

    def rule(self, name: str) -> bool:
        return self.everything or self.rules.get(name, self.unknown_dry)

    def action(self, action: Action) -> bool:
        return self.rule(action.rule) or action.dry_run

    def mode(self, rule: str) -> str:
        """Episodes are kept per mode: what a dry run "would have done" never blocks a live write."""
        return DRY if self.rule(rule) else LIVE

    def why(self, action: Action) -> str:
        """The reason an action was only recorded as "would do"."""
        if not self.requested and (action.dry_run or self.rules.get(action.rule, self.unknown_dry)):
            return "rule in dry run"
        return "dry run" if self.writable or self.requested else "dry run (no tracker credentials)"
