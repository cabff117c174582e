"""The folder gunicorn's web processes share their webhook counts through.

prometheus-client decides when it is first imported whether values live in memory or
in per-process files under `PROMETHEUS_MULTIPROC_DIR`, and its documentation asks for the
variable to be set before Python starts. So `flowkeeper serve` chooses the folder and
starts gunicorn with the variable already set: every worker then counts into it, and
`/metrics` is right whichever worker answers the scrape. An operator may set the variable
(the metrics section of the settings); otherwise the folder is one per gunicorn master,
so a restarted master never adds up files of an older run.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from integration.settings_metrics import MetricsSettings

_PREFIX = "flowkeeper-metrics-"


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


def folder_for_gunicorn(settings: MetricsSettings, master_pid: int) -> Path:
    """The operator's folder, else a fresh one for the gunicorn master that will run as `master_pid`."""
    if settings.multiproc_dir is not None:
        settings.multiproc_dir.mkdir(parents=True, exist_ok=True)
        return settings.multiproc_dir
    base = Path(tempfile.gettempdir())
    _remove_stale(base)
    folder = base / f"{_PREFIX}{master_pid}"
    folder.mkdir(parents=True, exist_ok=True)
    return folder
