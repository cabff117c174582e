"""One finding of `flowkeeper jira check` / `linear check`, printed the same way for both.

Each line is something an operator can act on; a failed line says what to fix, naming
only variables the settings really read, so the output can be copied as it is.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass

PUBLIC_URL_HINT = "set FLOWKEEPER_BASE_URL to Flowkeeper's public https URL to print it"


class Verdict(str, enum.Enum):
    OK = "ok"
    WARN = "warn"
    FAIL = "fail"
    INFO = "info"


@dataclass(frozen=True, slots=True)
class CheckLine:
    verdict: Verdict
    title: str
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.verdict is not Verdict.FAIL

    def render(self) -> str:
        head = f"[{self.verdict.value:>4}] {self.title}"
        return f"{head}\n       {self.detail}" if self.detail else head


def detail_lines(*lines: str) -> str:
    """Several facts under one finding, indented like the first."""
    return "\n       ".join(lines)


def webhook_address(webhook_url: str | None, tracker: str) -> str:
    """The full address the tracker must post to, or a placeholder that says how to learn it."""
    return webhook_url or f"<Flowkeeper's public URL>/webhooks/{tracker} ({PUBLIC_URL_HINT})"


def check_passed(lines: Sequence[CheckLine]) -> bool:
    return all(line.ok for line in lines)


def render(lines: Sequence[CheckLine]) -> str:
    return "\n".join(line.render() for line in lines)
