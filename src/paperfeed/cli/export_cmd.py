"""`paperfeed export PATH` and `paperfeed import-instance PATH`: whole-instance backups as JSON Lines."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from paperfeed.cli.common import console, open_core, progress_bar
from paperfeed.errors import InvalidInput
from paperfeed.store import backup


def print_counts(verb: str, counts: dict[str, int]) -> None:
    shown = ", ".join(f"{count:,} {name}s" for name, count in counts.items() if count) or "nothing"
    console.print(f"{verb} {shown}", highlight=False)


def export_command(
    path: Annotated[
        Path, typer.Argument(help="The backup file to write (.jsonl, or .jsonl.gz to compress).")
    ],
    force: Annotated[bool, typer.Option("--force", help="Replace the file if it exists.")] = False,
    database_url: Annotated[str | None, typer.Option(help="Database URL.")] = None,
) -> None:
    """Back up the whole instance (papers, accounts, votes, comments, subscriptions) to one file.
    Safe while the server runs: the file shows one consistent moment."""
    if path.exists() and not force:
        raise InvalidInput(f"{path} exists; pass --force to replace it")
    core = open_core(database_url)
    with progress_bar("exporting", total=sum(backup.row_counts(core.store).values())) as advance:
        counts = backup.export_instance(core.store, path, progress=advance)
    print_counts(f"exported to {path}:", counts)


def import_instance_command(
    path: Annotated[Path, typer.Argument(help="A file written by `paperfeed export`.")],
    database_url: Annotated[str | None, typer.Option(help="Database URL of the new, empty instance.")] = None,
) -> None:
    """Restore a backup made by `paperfeed export` into a new, empty instance. All of it is
    restored, or nothing; the search indexes are rebuilt afterwards."""
    core = open_core(database_url, create=True)
    with progress_bar("restoring") as advance:
        counts = backup.import_instance(core.store, path, progress=advance)
    with progress_bar("indexing") as advance:
        core.sync_indexes(progress=advance)
    print_counts(f"restored into {core.store.safe_url}:", counts)


def register(app: typer.Typer) -> None:
    app.command("export")(export_command)
    app.command("import-instance")(import_instance_command)
