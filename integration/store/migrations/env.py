"""Alembic environment: online migrations only, batch mode so SQLite can alter tables."""

from alembic import context

import integration.store.sweep_tables  # noqa: F401 - the sweeps' tables live on the same metadata
from integration.store.db import make_engine
from integration.store.tables import metadata

config = context.config


def run_migrations_online() -> None:
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("alembic config has no sqlalchemy.url (integration.store.migrate sets it)")
    connectable = make_engine(url)
    with connectable.connect() as connection:
        context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
    connectable.dispose()


run_migrations_online()
