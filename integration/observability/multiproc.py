"""Choose prometheus-client's multiprocess mode before the library is first imported.

The library decides at import time whether values live in memory or in per-process
files under `PROMETHEUS_MULTIPROC_DIR`. Under gunicorn every worker process counts its
own requests, so they must share such a folder for `/metrics` to be right whichever
worker answers the scrape. An operator may set the variable; otherwise, inside a
gunicorn process, this module picks a folder per gunicorn master (the workers' parent)
so a restarted master never adds up files of an older run.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import MutableMapping
from pathlib import Path

VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
_PREFIX = "flowkeeper-metrics-"


def _under_gunicorn() -> bool:
    return "gunicorn" in sys.modules or Path(sys.argv[0] if sys.argv else "").name == "gunicorn"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove_stale(base: Path) -> None:
    """Folders of masters that are gone: their counts belong to an earlier run."""
    for folder in base.glob(f"{_PREFIX}*"):
        suffix = folder.name[len(_PREFIX) :]
        if suffix.isdigit() and not _alive(int(suffix)):
            for file in folder.glob("*.db"):
                file.unlink(missing_ok=True)
            try:
                folder.rmdir()
            except OSError:
                pass


def prepare(environ: MutableMapping[str, str] = os.environ, gunicorn: bool | None = None) -> str | None:
    """Set `PROMETHEUS_MULTIPROC_DIR` for a gunicorn process; returns the folder (None: single process)."""
    given = environ.get(VARIABLE)
    if given:
        Path(given).mkdir(parents=True, exist_ok=True)
        return given
    if not (_under_gunicorn() if gunicorn is None else gunicorn):
        return None
    base = Path(tempfile.gettempdir())
    _remove_stale(base)
    folder = base / f"{_PREFIX}{os.getppid()}"
    folder.mkdir(parents=True, exist_ok=True)
    environ[VARIABLE] = str(folder)
    return str(folder)
