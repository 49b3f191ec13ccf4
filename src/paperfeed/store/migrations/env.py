"""Alembic environment: runs against the engine the application hands over.

Several processes may open a database at once (web workers, an import, a timer), so migrations
run under a lock: the others wait, then find the schema already current.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context

from paperfeed.store.schema import UTCDateTime, metadata

config = context.config

# Any constant shared by every paperfeed process; it names the migration lock on PostgreSQL.
MIGRATION_LOCK_KEY = 0x7061706572666565  # "paperfee"


def _render_item(type_: str, obj: object, autogen_context: object) -> str | bool:
    """Migration scripts spell the plain column type, never our Python-side wrapper."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _lock(connection: sa.Connection) -> None:
    """Hold the database's migration lock until this transaction ends."""
    if connection.dialect.name == "postgresql":
        connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
    elif connection.dialect.name == "sqlite":
        # The write lock up front (the driver would begin only at the first INSERT), which also
        # makes the DDL part of the transaction.
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def run_migrations_online() -> None:
    engine = config.attributes.get("engine") or sa.create_engine(config.get_main_option("sqlalchemy.url"))
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # Batch migrations copy a table and drop the original; with foreign keys enforced,
            # that drop would cascade-delete the rows of tables referring to it. The pragma
            # takes effect only outside a transaction.
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            connection.commit()
        try:
            with connection.begin():
                _lock(connection)
                context.configure(
                    connection=connection,
                    target_metadata=metadata,
                    render_as_batch=sqlite,  # SQLite alters tables by copying
                    compare_type=True,
                    render_item=_render_item,
                )
                context.run_migrations()
        finally:
            if sqlite:
                connection.exec_driver_sql("PRAGMA foreign_keys=ON")
                connection.commit()


run_migrations_online()
