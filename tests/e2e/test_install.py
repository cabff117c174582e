"""Installing Flowkeeper as the README says prints no packaging deprecation warnings."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]


def test_building_the_package_warns_of_nothing_deprecated(tmp_path: Path) -> None:
    """The same build `pip install -e .` runs (an isolated setuptools from the index), read for "Deprecat"."""
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-cache-dir", "-w", str(tmp_path), str(ROOT)],
        capture_output=True, text=True, timeout=300, env={"PATH": "/usr/bin:/bin", **_pip_env()},
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "deprecat" not in output.lower(), output
    assert list(tmp_path.glob("flowkeeper-*.whl"))


def _pip_env() -> dict[str, str]:
    """The index settings pip was given (a mirror or a proxy), nothing else of the caller's environment."""
    return {k: v for k, v in os.environ.items() if k.startswith(("PIP_", "HTTP", "HTTPS", "NO_PROXY", "http", "https",
                                                                 "no_proxy", "HOME"))}
