"""Serving processes set their start-up heap aside from the garbage collector's full passes
(integration.heap): a report's rows set off several full collections, and each would otherwise walk
every module, compiled statement and template again."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from integration import serve
from integration.settings import load_settings

ROOT = Path(__file__).resolve().parents[2]


def test_gunicorns_app_is_set_aside_once_built(tmp_path: Path) -> None:
    code = "import gc, integration.wsgi; print(gc.get_freeze_count())"
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'flowkeeper.db'}", "PYTHONPATH": str(ROOT)}
    env.pop("REDIS_URL", None)
    done = subprocess.run([sys.executable, "-c", code], env=env, cwd=tmp_path, capture_output=True, text=True,
                          timeout=60, check=True)
    assert int(done.stdout.split()[-1]) > 10_000  # the app and everything it imported


def test_the_embedded_server_sets_its_heap_aside_before_it_serves(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    monkeypatch.setattr("gc.freeze", lambda: calls.append("set aside"))
    monkeypatch.setattr("flask.Flask.run", lambda self, **kwargs: calls.append("served"))
    settings = load_settings({"DATABASE_URL": f"sqlite:///{tmp_path / 'flowkeeper.db'}"})
    assert serve.serve(settings, "127.0.0.1", 0, None) == 0
    assert calls == ["set aside", "served"]
