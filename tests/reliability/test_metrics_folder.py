"""Where gunicorn's web processes share their webhook counts: chosen by `flowkeeper serve`, not by an import."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from integration.observability import multiproc
from integration.settings_metrics import MetricsSettings


def test_importing_flowkeeper_leaves_the_environment_alone() -> None:
    """No import-order trap: loading the app and the metrics code sets no variable behind anyone's back."""
    code = (  # as inside a gunicorn worker, where the old import-time magic used to set a folder
        "import os, gunicorn; before = dict(os.environ); import integration.observability, "
        "integration.observability.web, integration.app; assert dict(os.environ) == before, set(os.environ) ^ set(before)"
    )
    env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


def test_the_operator_s_folder_is_used_as_given(tmp_path: Path) -> None:
    chosen = tmp_path / "metrics"
    assert multiproc.folder_for_gunicorn(MetricsSettings(multiproc_dir=chosen), master_pid=1) == chosen
    assert chosen.is_dir()


def test_each_master_gets_a_fresh_folder_and_a_gone_master_s_folder_is_removed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(multiproc.tempfile, "gettempdir", lambda: str(tmp_path))
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    stale = tmp_path / f"flowkeeper-metrics-{gone.pid}"
    stale.mkdir()
    (stale / "counter_1.db").write_bytes(b"old counts")
    folder = multiproc.folder_for_gunicorn(MetricsSettings(), master_pid=os.getpid())
    assert folder == tmp_path / f"flowkeeper-metrics-{os.getpid()}" and folder.is_dir()
    assert not stale.exists(), "counts of an earlier run are never added up"
