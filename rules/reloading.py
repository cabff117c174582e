"""Keep the running rule set: reload when files change, keep the last good set on error.

A process that cannot load a valid set at start refuses to start (RuleFileError from
`RuleHolder.start`), so a broken deploy fails loudly instead of running nothing.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from rules.errors import RuleFileError
from rules.loader import load_ruleset, rule_files
from rules.ruleset import RuleSet

log = logging.getLogger(__name__)
Signature = tuple[tuple[str, int, int], ...]


def signature(paths: Sequence[str | Path]) -> Signature:
    """What changed-on-disk means: the file list and each file's mtime and size."""
    out = []
    for path in rule_files(paths):
        try:
            st = path.stat()
            out.append((str(path), st.st_mtime_ns, st.st_size))
        except OSError:
            out.append((str(path), -1, -1))
    return tuple(out)


class RuleHolder:
    def __init__(self, paths: Sequence[str | Path], ruleset: RuleSet, sig: Signature,
                 loader: Callable[[Sequence[str | Path]], RuleSet] = load_ruleset) -> None:
        self.paths = list(paths)
        self._current = ruleset
        self._sig = sig
        self._loader = loader
        self._lock = threading.Lock()
        self.last_error: RuleFileError | None = None

    @classmethod
    def start(cls, paths: Sequence[str | Path],
              loader: Callable[[Sequence[str | Path]], RuleSet] = load_ruleset) -> RuleHolder:
        """Load or raise: there is no last good set to fall back on at start."""
        sig = signature(paths)
        return cls(paths, loader(paths), sig, loader)

    @property
    def current(self) -> RuleSet:
        return self._current

    def reload_if_changed(self) -> bool:
        """Reload when files changed; True if a new set now runs. Errors keep the old set."""
        sig = signature(self.paths)
        if sig == self._sig:
            return False
        with self._lock:
            if sig == self._sig:
                return False
            self._sig = sig
            try:
                fresh = self._loader(self.paths)
            except RuleFileError as exc:
                self.last_error = exc
                log.error("rules.reload_failed keeping the last good rule set:\n%s", exc)
                return False
            self._current, self.last_error = fresh, None
            log.info("rules.reloaded %d rules", len(fresh.rules))
            return True
