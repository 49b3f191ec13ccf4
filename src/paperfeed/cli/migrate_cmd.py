"""`paperfeed migrate-db --from URL --to URL`: copy an instance to another database, e.g. SQLite to PostgreSQL."""

from __future__ import annotations

from typing import Annotated

import typer

from paperfeed.cli.common import console, progress_bar
from paperfeed.cli.export_cmd import print_counts
from paperfeed.config import Settings
from paperfeed.errors import InvalidInput
from paperfeed.store import Store, backup


def migrate_db_command(
    to_url: Annotated[
        str, typer.Option("--to", help="URL of the new, empty database, e.g. postgresql+psycopg://...")
    ],
    from_url: Annotated[
        str | None, typer.Option("--from", help="URL of the database to copy (default: the configured one).")
    ] = None,
) -> None:
    """Copy everything to another database, e.g. from the SQLite file to PostgreSQL. Both are
    brought to the current schema first; the target must be empty. Then point
    PAPERFEED_DATABASE_URL at the target."""
    source_url = from_url or Settings.from_env().db_url
    if not backup.database_exists(source_url):
        raise InvalidInput(f"nothing to copy: there is no database at {source_url}")
    source = Store.open(source_url)
    target = Store.open(to_url)
    try:
        with progress_bar("copying", total=sum(backup.row_counts(source).values())) as advance:
            counts = backup.copy_instance(source, target, progress=advance)
    finally:
        source.close()
        target.close()
    print_counts(f"copied {source.safe_url} to {target.safe_url}:", counts)
    console.print(
        f"next: set PAPERFEED_DATABASE_URL={target.safe_url} (with its password) and restart paperfeed"
    )


def register(app: typer.Typer) -> None:
    app.command("migrate-db")(migrate_db_command)
