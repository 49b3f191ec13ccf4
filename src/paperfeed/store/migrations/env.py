"""Alembic environment: runs against the engine the application hands over."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context

from paperfeed.store.schema import metadata

config = context.config


def run_migrations_online() -> None:
    engine = config.attributes.get("engine") or sa.create_engine(config.get_main_option("sqlalchemy.url"))
    with engine.begin() as connection:
        context.configure(
            connection=connection,
            target_metadata=metadata,
            render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying
            compare_type=True,
        )
        context.run_migrations()


run_migrations_online()
