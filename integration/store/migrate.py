"""Apply Alembic migrations programmatically (`flowkeeper db upgrade`, the release step)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, inspect

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


def current_revision(url: str) -> str | None:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()


def upgrade_reporting(url: str) -> list[str]:
    """Upgrade to head; the applied migrations, oldest first, as "0003: <what it does>"."""
    before = current_revision(url)
    upgrade(url)
    after = current_revision(url)
    script = ScriptDirectory.from_config(alembic_config(url))
    applied = [] if before == after else list(script.iterate_revisions(after, before))
    return [f"{r.revision}: {(r.doc or '').strip()}" for r in reversed(applied)]


def is_current(engine: Engine) -> bool:
    """True when the schema exists (the web and worker refuse to run on an empty database)."""
    return inspect(engine).has_table("alembic_version") and inspect(engine).has_table("audit_log")
