"""The README's "Try it" samples make a built-in rule act; `replay` keeps out of the service's database."""

from __future__ import annotations

from pathlib import Path

import pytest

from integration.replay import replay_files
from integration.settings import load_settings
from integration.store.audit import AuditFilter
from integration.store.migrate import upgrade
from integration.store.store import Store

SAMPLES = sorted((Path(__file__).resolve().parents[2] / "examples" / "samples").glob("*.json"))


def test_there_is_a_sample_per_tracker() -> None:
    assert [p.name.split("-")[0] for p in SAMPLES] == ["jira", "linear"]


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda p: p.stem)
def test_each_sample_makes_a_built_in_rule_act(sample: Path, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    settings = load_settings({"DATABASE_URL": f"sqlite:///{tmp_path / 'fk.sqlite'}"})  # built-in packs
    assert replay_files(settings, [str(sample)]) == 0
    printed = capsys.readouterr().out
    assert "no action" not in printed
    assert "[would_do] bug-without-priority add_labels" in printed
    assert "[would_do] bug-without-priority comment" in printed


def test_replay_leaves_the_service_database_alone_unless_told(tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'service.sqlite'}"
    upgrade(url)
    store = Store.connect(url)
    settings = load_settings({"DATABASE_URL": url})
    assert replay_files(settings, [str(SAMPLES[0])]) == 0
    assert "scratch database" in capsys.readouterr().out
    assert store.audit.count(AuditFilter(item_key="KAN-22")) == 0
    assert replay_files(settings, [str(SAMPLES[0])], use_database=True) == 0
    assert store.audit.count(AuditFilter(item_key="KAN-22")) == 2
    store.engine.dispose()
