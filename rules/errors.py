"""Rule-file errors a person can act on: file, line, column, rule, path, message."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RuleError:
    """One problem in a rule file, located by YAML node position and rule path."""

    file: str
    line: int
    col: int
    rule: str | None
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.col}: "
        who = f"rule '{self.rule}' › " if self.rule else ""
        path = f"{self.path}: " if self.path else ""
        return f"{where}{who}{path}{self.message}"


RULE_NAME = r"^[a-z0-9][a-z0-9_-]{0,79}$"  # the form a rule's name takes (the schema checks it)


class RuleFileError(Exception):
    """Raised when a rule set cannot be loaded; `.errors` lists every problem found."""

    def __init__(self, errors: list[RuleError]) -> None:
        self.errors = errors
        super().__init__("\n".join(str(e) for e in errors))


def did_you_mean(word: str, choices: list[str] | tuple[str, ...] | set[str]) -> str:
    """A ' (did you mean 'x'?)' suffix for a misspelt key or operator, or ''."""
    import difflib

    close = difflib.get_close_matches(word, sorted(choices), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""
