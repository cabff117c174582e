"""`flowkeeper db upgrade` says which migrations it applied, and when there was nothing to do."""

from __future__ import annotations

from pathlib import Path

import pytest

from integration.cli import main
from integration.store.migrate import MIGRATIONS


def test_db_upgrade_names_the_migrations_it_applied(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'fk.sqlite'}")
    monkeypatch.delenv("REDIS_URL", raising=False)
    assert main(["db", "upgrade"]) == 0
    first = capsys.readouterr().out.splitlines()
    count = len(list((MIGRATIONS / "versions").glob("0*.py")))
    assert first[0].startswith("applied 0001: Initial schema")
    assert [line.split(":")[0] for line in first[:-1]] == [f"applied {n:04d}" for n in range(1, count + 1)]
    assert first[-1] == f"database schema is up to date ({count} migrations applied)"
    assert main(["db", "upgrade"]) == 0
    assert capsys.readouterr().out == "database schema was already up to date: no migration applied\n"
