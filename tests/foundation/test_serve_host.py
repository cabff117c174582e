"""`make run` listens on this machine only, as the README says; every interface only when asked."""

from __future__ import annotations

import subprocess
from pathlib import Path

from integration.cli import build_parser

ROOT = Path(__file__).resolve().parents[2]


def test_serve_binds_loopback_unless_told_otherwise() -> None:
    assert build_parser().parse_args(["serve"]).host == "127.0.0.1"
    assert build_parser().parse_args(["serve", "--host", "0.0.0.0"]).host == "0.0.0.0"


def test_make_run_binds_loopback_and_host_opens_it() -> None:
    def planned(*extra: str) -> str:
        return subprocess.run(["make", "-n", "run", *extra], cwd=ROOT, capture_output=True, text=True,
                              check=True).stdout

    assert "flowkeeper serve --host 127.0.0.1" in planned()
    assert "flowkeeper serve --host 0.0.0.0" in planned("HOST=0.0.0.0")


def test_the_heroku_web_process_listens_on_every_interface() -> None:
    """Heroku's router reaches the dyno from outside it: the Procfile asks for 0.0.0.0 explicitly."""
    web = next(line for line in (ROOT / "Procfile").read_text().splitlines() if line.startswith("web:"))
    assert "--host 0.0.0.0" in web
